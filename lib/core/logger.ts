/**
 * A logger whose every message passes through the run's redactor (lib/util's Redactor, taken by its
 * shape: lib/core imports nothing above it).
 */

export type LogLevel = 'debug' | 'info' | 'warn' | 'error';

export interface LogRecord {
  readonly level: LogLevel;
  readonly message: string;
  readonly step?: string;
  readonly time: string;
}

export interface Logger {
  debug(message: string): void;
  info(message: string): void;
  warn(message: string): void;
  error(message: string): void;
  /** A logger that tags records with `step`. */
  child(step: string): Logger;
}

export type LogSink = (record: LogRecord) => void;

/** What the logger needs of a redactor. */
export interface Redacting {
  redact(text: string): string;
}

export function createLogger(sink: LogSink, redactor: Redacting, step?: string): Logger {
  const emit = (level: LogLevel) => (message: string) =>
    sink({ level, message: redactor.redact(message), time: new Date().toISOString(), ...(step ? { step } : {}) });
  return {
    debug: emit('debug'),
    info: emit('info'),
    warn: emit('warn'),
    error: emit('error'),
    child: (s: string) => createLogger(sink, redactor, s),
  };
}

/** A logger that drops everything (library calls made without a playbook). */
export const silentLogger: Logger = {
  debug() {}, info() {}, warn() {}, error() {},
  child() { return silentLogger; },
};
