"""The lab's one channel between the machine and the lab kernel: framing and flow control.

The machine and the lab kernel share no network: the only path is a serial
line of the user-mode kernel on an inherited file descriptor (``ssl1=fd:N``,
one end of a socketpair; ``/dev/ttyS1`` inside). Many sessions (one per
command run in a lab host) share it, multiplexed by channel number.

Measured behaviour of that line, which shapes this code:
- machine -> lab is slow (about 0.6 MB/s: the user-mode kernel reads its host
  input one byte per read) and lab -> machine about 16 MB/s;
- without flow control in both directions it stalls for good (bytes left in
  the socket's send queue, the lab kernel idle). Windows of 2 KiB
  unacknowledged machine -> lab and 32 KiB lab -> machine ended every stall
  in trials. So every data frame counts against a window that the peer
  re-opens with ACK frames as it consumes them.

A frame: magic byte, type, channel (u16), length (u16), payload. Control
frames (ACK, PING, PONG, HELLO) are outside the window; they are few and
small, so they cannot overrun the line.
"""
import json
import os
import struct
import threading
import time

MAGIC = 0xA5
HEADER = struct.Struct("!BBHH")
MAX_PAYLOAD = 1024

# Data frames (count against the window)
OPEN = 1       # machine -> lab: JSON request; the channel is new
STDIN = 2      # machine -> lab: bytes for the command's stdin
EOF = 3        # machine -> lab: stdin closed
KILL = 4       # machine -> lab: stop the command (client gone or timed out)
STDOUT = 5     # lab -> machine
STDERR = 6     # lab -> machine
EXIT = 7       # lab -> machine: JSON {"rc": N} or {"error": "..."}; the channel ends
SHUTDOWN = 8   # machine -> lab: power the lab off
STARTED = 9    # lab -> machine: the command runs (JSON {"pid": N})
# Control frames (outside the window)
ACK = 16       # payload u32: data bytes consumed since the last ACK
PING = 17
PONG = 18
HELLO = 19     # lab -> machine: the agent listens (JSON)

CONTROL = {ACK, PING, PONG, HELLO}
NAMES = {v: k for k, v in globals().items() if k.isupper() and isinstance(v, int) and k not in
         ("MAGIC", "MAX_PAYLOAD")}

# machine -> lab: 2 KiB; lab -> machine: 32 KiB (see above)
WINDOW_TO_LAB = 2048
WINDOW_TO_MACHINE = 32768


class LineError(Exception):
    """The lab line broke: bad frame, closed, or stalled."""


def encode(ftype, chan, payload=b""):
    """One frame: header (magic, type, channel, length) and payload."""
    if isinstance(payload, str):
        payload = payload.encode()
    if len(payload) > 0xFFFF:
        raise ValueError("frame payload too long")
    return HEADER.pack(MAGIC, ftype, chan, len(payload)) + payload


def encode_json(ftype, chan, obj):
    """A frame whose payload is obj as compact JSON."""
    return encode(ftype, chan, json.dumps(obj, separators=(",", ":")).encode())


class Decoder:
    """Incremental frame decoder: feed bytes, get (type, channel, payload) frames."""

    def __init__(self):
        self.buf = bytearray()

    def feed(self, data):
        """Add bytes read from the line; the complete frames in them."""
        self.buf += data
        frames = []
        while len(self.buf) >= HEADER.size:
            magic, ftype, chan, length = HEADER.unpack_from(self.buf)
            if magic != MAGIC:
                raise LineError("line out of step: byte 0x%02x where a frame starts" % magic)
            if len(self.buf) < HEADER.size + length:
                break
            payload = bytes(self.buf[HEADER.size:HEADER.size + length])
            del self.buf[:HEADER.size + length]
            frames.append((ftype, chan, payload))
        return frames


def read_frame(sock_file):
    """One frame from a blocking file-like object (client side); None at EOF."""
    head = _read_exact(sock_file, HEADER.size)
    if head is None:
        return None
    magic, ftype, chan, length = HEADER.unpack(head)
    if magic != MAGIC:
        raise LineError("bad frame from the broker")
    payload = _read_exact(sock_file, length) if length else b""
    if payload is None:
        return None
    return ftype, chan, payload


def _read_exact(f, n):
    chunks, got = [], 0
    while got < n:
        b = f.read(n - got)
        if not b:
            return None
        chunks.append(b)
        got += len(b)
    return b"".join(chunks)


class Line:
    """One end of the line: a window-limited writer and a reader thread.

    on_frame(type, channel, payload) is called from the reader thread for
    every data frame; control frames are handled here. Data bytes count
    against the peer's window when sent and are acknowledged by the peer
    when consumed (i.e. once on_frame returned).
    """

    def __init__(self, rfd, wfd, send_window, on_frame, on_close=None, ack_every=None):
        self.rfd, self.wfd = rfd, wfd
        self.send_window = send_window
        self.on_frame, self.on_close = on_frame, on_close
        self.unacked = 0               # data bytes we sent that the peer has not acknowledged
        self.to_ack = 0                # data bytes we consumed and have not acknowledged
        # Acknowledge well before the peer's window is full.
        self.ack_every = ack_every or 256
        self.cond = threading.Condition()
        self.wlock = threading.Lock()
        self.closed = None             # reason, once the line is dead
        self.last_rx = time.monotonic()
        self.last_ack_progress = time.monotonic()
        self.bytes_in = self.bytes_out = 0
        self.reader = threading.Thread(target=self._read_loop, name="line-reader", daemon=True)

    def start(self):
        """Start the reader thread."""
        self.reader.start()

    # ------------------------------------------------------------ writing
    def _write_raw(self, data):
        with self.wlock:
            view = memoryview(data)
            while view:
                n = os.write(self.wfd, view)
                view = view[n:]
            self.bytes_out += len(data)

    def send(self, ftype, chan, payload=b"", timeout=None):
        """Send one frame, waiting for window space if it is a data frame."""
        if isinstance(payload, str):
            payload = payload.encode()
        if ftype in CONTROL:
            if self.closed:
                return
            try:
                self._write_raw(encode(ftype, chan, payload))
            except OSError as exc:
                self.close("write failed: %s" % exc)
            return
        # Split data so one frame never exceeds MAX_PAYLOAD (window stays usable).
        chunks = [payload[i:i + MAX_PAYLOAD] for i in range(0, len(payload), MAX_PAYLOAD)] or [b""]
        for chunk in chunks:
            frame = encode(ftype, chan, chunk)
            deadline = None if timeout is None else time.monotonic() + timeout
            with self.cond:
                while self.unacked + len(frame) > self.send_window and not self.closed:
                    wait = None if deadline is None else deadline - time.monotonic()
                    if wait is not None and wait <= 0:
                        raise LineError("no window on the lab line for %.0f s" % timeout)
                    self.cond.wait(wait if wait is not None else 1.0)
                if self.closed:
                    raise LineError("lab line closed: %s" % self.closed)
                if self.unacked <= 0:
                    self.last_ack_progress = time.monotonic()
                self.unacked += len(frame)
            try:
                self._write_raw(frame)
            except OSError as exc:
                self.close("write failed: %s" % exc)
                raise LineError("lab line closed: %s" % exc)

    def send_json(self, ftype, chan, obj, timeout=None):
        """Send obj as one JSON frame on the channel."""
        self.send(ftype, chan, json.dumps(obj, separators=(",", ":")), timeout=timeout)

    def _consumed(self, n, force=False):
        self.to_ack += n
        if self.to_ack and (force or self.to_ack >= self.ack_every):
            n, self.to_ack = self.to_ack, 0
            self.send(ACK, 0, struct.pack("!I", n))

    # ------------------------------------------------------------ reading
    def _read_loop(self):
        dec = Decoder()
        try:
            while not self.closed:
                data = os.read(self.rfd, 65536)
                if not data:
                    self.close("end of file")
                    break
                self.bytes_in += len(data)
                self.last_rx = time.monotonic()
                frames = dec.feed(data)
                consumed = 0
                for ftype, chan, payload in frames:
                    if ftype == ACK:
                        (n,) = struct.unpack("!I", payload)
                        with self.cond:
                            self.unacked -= n
                            self.last_ack_progress = time.monotonic()
                            self.cond.notify_all()
                    elif ftype == PING:
                        self.send(PONG, chan, payload)
                    elif ftype in CONTROL:
                        self.on_frame(ftype, chan, payload)
                    else:
                        self.on_frame(ftype, chan, payload)
                        consumed += HEADER.size + len(payload)
                # Acknowledge what was consumed; at once when the input is
                # drained, so a sender waiting on a small window never waits
                # for more data that it cannot send.
                if consumed or self.to_ack:
                    self._consumed(consumed, force=not dec.buf)
        except (OSError, LineError) as exc:
            self.close(str(exc))

    def close(self, reason):
        """Close the line (once), waking every waiting sender, with the reason."""
        with self.cond:
            if self.closed:
                return
            self.closed = reason
            self.cond.notify_all()
        if self.on_close:
            self.on_close(reason)

    def stalled_for(self):
        """Seconds for which data we sent has waited for an acknowledgement (0 if none waits)."""
        with self.cond:
            if self.unacked <= 0:
                return 0.0
            return time.monotonic() - self.last_ack_progress
