package dockerrt

import (
	"bufio"
	"bytes"
	"context"
	"encoding/binary"
	"fmt"
	"io"
	"time"

	"github.com/moby/moby/client"
)

// LogLine is one message a container wrote, as Docker logged it.
type LogLine struct {
	// Time is when Docker received the message.
	Time time.Time
	// Stderr tells stderr from stdout.
	Stderr bool
	// Text is the message without its trailing newline.
	Text string
}

// LogStream reads a container's output one message at a time.
type LogStream struct {
	rc  io.ReadCloser
	br  *bufio.Reader
	tty bool // a TTY's output comes as plain lines, not in frames
}

// Logs streams a container's stdout and stderr (with a TTY, both come as
// stdout) from since on (inclusive; zero means from the start), in the order
// Docker logged them. With follow, the stream goes on until the container
// stops or ctx ends. It needs a log driver Docker can read back (json-file,
// local, journald).
func (r *Runtime) Logs(ctx context.Context, id string, since time.Time, follow bool) (*LogStream, error) {
	info, err := r.cli.ContainerInspect(ctx, id, client.ContainerInspectOptions{})
	if err != nil {
		return nil, fmt.Errorf("dockerrt: logs of container %s: %w", id, err)
	}
	tty := info.Container.Config != nil && info.Container.Config.Tty
	opts := client.ContainerLogsOptions{ShowStdout: true, ShowStderr: true, Timestamps: true, Follow: follow}
	if !since.IsZero() {
		opts.Since = fmt.Sprintf("%d.%09d", since.Unix(), since.Nanosecond())
	}
	rc, err := r.cli.ContainerLogs(ctx, id, opts)
	if err != nil {
		return nil, fmt.Errorf("dockerrt: logs of container %s: %w", id, err)
	}
	return &LogStream{rc: rc, br: bufio.NewReaderSize(rc, 64<<10), tty: tty}, nil
}

// Next returns the next message; io.EOF once the stream has ended.
func (s *LogStream) Next() (LogLine, error) {
	if s.tty {
		line, err := s.br.ReadBytes('\n')
		if len(line) == 0 || (err != nil && err != io.EOF) {
			if err == nil || err == io.ErrUnexpectedEOF {
				err = io.EOF
			}
			return LogLine{}, err
		}
		return parseLogLine(false, line)
	}
	// Docker multiplexes the two streams in frames: a byte naming the
	// stream, three zero bytes, the payload's length (big-endian uint32),
	// then the payload, one message with its timestamp.
	var header [8]byte
	if _, err := io.ReadFull(s.br, header[:]); err != nil {
		if err == io.ErrUnexpectedEOF {
			err = io.EOF
		}
		return LogLine{}, err
	}
	payload := make([]byte, binary.BigEndian.Uint32(header[4:]))
	if _, err := io.ReadFull(s.br, payload); err != nil {
		return LogLine{}, fmt.Errorf("dockerrt: truncated log frame: %w", err)
	}
	return parseLogLine(header[0] == 2, payload)
}

// parseLogLine splits a payload "<RFC 3339 time> <text>\n".
func parseLogLine(stderr bool, payload []byte) (LogLine, error) {
	stamp, text, found := bytes.Cut(payload, []byte(" "))
	if !found {
		stamp, text = bytes.TrimRight(payload, "\n"), nil
	}
	t, err := time.Parse(time.RFC3339Nano, string(stamp))
	if err != nil {
		return LogLine{}, fmt.Errorf("dockerrt: log line without a timestamp: %q", payload)
	}
	return LogLine{Time: t, Stderr: stderr, Text: string(bytes.TrimSuffix(bytes.TrimSuffix(text, []byte("\n")), []byte("\r")))}, nil
}

// Close ends the stream.
func (s *LogStream) Close() error { return s.rc.Close() }
