// Server-sent events read from a streamed fetch body: the same code runs in a browser and in
// Node 20 (tests), which EventSource would not.

/** Splits a text stream into SSE messages and yields each one's `data` (lines joined by \n). */
export class SseParser {
  private buffer = '';

  push(chunk: string): string[] {
    this.buffer += chunk.replace(/\r\n?/g, '\n');
    const messages: string[] = [];
    let end: number;
    while ((end = this.buffer.indexOf('\n\n')) >= 0) {
      const block = this.buffer.slice(0, end);
      this.buffer = this.buffer.slice(end + 2);
      const data = block
        .split('\n')
        .filter((line) => line.startsWith('data:'))
        .map((line) => line.slice(line.startsWith('data: ') ? 6 : 5));
      if (data.length > 0) messages.push(data.join('\n'));
    }
    return messages;
  }
}
