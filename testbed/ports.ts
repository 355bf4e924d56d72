// Loopback ports for servers whose port must be known before they start (it goes into their
// own configuration or URLs). The OS picks a free one; the tiny window before the server binds
// it is acceptable on a test machine.
import { createServer } from "node:net";

export function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const server = createServer();
    server.once("error", reject);
    server.listen(0, "127.0.0.1", () => {
      const { port } = server.address() as { port: number };
      server.close(() => resolve(port));
    });
  });
}
