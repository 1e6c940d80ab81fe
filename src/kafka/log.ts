import { logLevel, type LogEntry, type logCreator } from 'kafkajs';
import type { Logger } from '../log';

/**
 * Routes kafkajs' logs into our Logger (namespace `kafkajs.<namespace>`), so neither the change feed
 * nor the consumer toolkit ever lets kafkajs write to the console.
 */
export function kafkaLogCreator(log: Logger): logCreator {
  const children = new Map<string, Logger>();
  return () => ({ namespace, level, log: entry }: LogEntry) => {
    const { message, timestamp: _timestamp, logger: _logger, ...fields } = entry;
    let child = children.get(namespace);
    if (child === undefined) children.set(namespace, (child = log.child(`kafkajs.${namespace || 'client'}`)));
    if (level === logLevel.ERROR) child.error(fields, message);
    else if (level === logLevel.WARN) child.warn(fields, message);
    else if (level === logLevel.INFO) child.info(fields, message);
    else child.debug(fields, message);
  };
}
