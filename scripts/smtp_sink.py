"""A mail sink for scripts/failover.sh: an SMTP server on loopback that writes every message it
accepts to DIR as one file (a message's Message-ID and recipients are in it), so the failover
run can count deliveries, duplicates included. Standard library only.

    python3 scripts/smtp_sink.py PORT DIR
"""

import asyncio
import os
import sys
import uuid


async def session(reader: asyncio.StreamReader, writer: asyncio.StreamWriter, out: str) -> None:
    def say(line: str) -> None:
        writer.write((line + "\r\n").encode())

    say("220 failover-sink ESMTP")
    recipients: list[str] = []
    while True:
        line = await reader.readline()
        if not line:
            break
        command = line.decode(errors="replace").strip()
        verb = command.split(" ", 1)[0].upper()
        if verb in ("EHLO", "HELO"):
            say("250-failover-sink")
            say("250 8BITMIME")
        elif verb == "MAIL":
            recipients = []
            say("250 ok")
        elif verb == "RCPT":
            recipients.append(command.split(":", 1)[1].strip().strip("<>"))
            say("250 ok")
        elif verb == "DATA":
            say("354 go on")
            await writer.drain()
            body = bytearray()
            while True:
                chunk = await reader.readline()
                if not chunk or chunk in (b".\r\n", b".\n"):
                    break
                body += chunk[1:] if chunk.startswith(b"..") else chunk
            name = os.path.join(out, f"{uuid.uuid4().hex}.eml")
            with open(name + ".part", "wb") as f:
                f.write(("X-Sink-To: " + ",".join(recipients) + "\r\n").encode() + bytes(body))
            os.rename(name + ".part", name)
            say("250 queued")
        elif verb == "QUIT":
            say("221 bye")
            await writer.drain()
            break
        else:
            say("250 ok")
        await writer.drain()
    writer.close()


async def main() -> None:
    port, out = int(sys.argv[1]), sys.argv[2]
    os.makedirs(out, exist_ok=True)
    server = await asyncio.start_server(lambda r, w: session(r, w, out), "127.0.0.1", port)
    async with server:
        await server.serve_forever()


if __name__ == "__main__":
    asyncio.run(main())
