// One error style for every command: `frugal: error: <what is wrong>`, for option-parsing errors
// (commander's) and for errors thrown while a command runs, with raw engine errors explained.

/** A raw tfjs "kernel not registered" error explained in terms of the CLI's options. */
export function explainError(message: string): string {
  const missing = /Kernel '(\w+)' not registered for backend '(\w+)'/.exec(message);
  if (missing) {
    const [, kernel, backend] = missing;
    return `${message}: stock tfjs-backend-${backend} has no ${kernel} kernel (with --no-fast-kernels this model cannot train there); drop --no-fast-kernels (frugal's fast kernels add it) or choose another --backend`;
  }
  return message;
}

/** The line printed for an error thrown by a command. */
export function errorLine(e: unknown): string {
  return `frugal: error: ${explainError(e instanceof Error ? e.message : String(e))}`;
}

/** Commander's own messages ("error: ...") in the same style. */
export function writeParseError(str: string, write: (s: string) => void): void {
  write(`frugal: ${str}`);
}
