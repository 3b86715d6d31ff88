package agent

import (
	"context"
	"encoding/json"
	"errors"
	"io"
	"log/slog"
	"os"
	"path/filepath"
	"strconv"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/cloudwatchlogs"
	"github.com/aws/aws-sdk-go-v2/service/cloudwatchlogs/types"

	"github.com/berth-dev/berth/internal/acs"
	"github.com/berth-dev/berth/internal/agent/dockerrt"
)

// labelAWSLogs holds a container's awslogs options (JSON), so that a
// restarted agent goes on shipping the output of the containers it adopts.
const labelAWSLogs = "berth.awslogs"

// How container output is batched into PutLogEvents calls: at most
// shipInterval late, within the API's limits on a batch.
const (
	shipInterval      = 5 * time.Second
	shipMaxEvents     = 10000
	shipMaxBytes      = 1 << 20
	shipEventOverhead = 26
	shipMaxSpan       = 24 * time.Hour
	// shipRetry is the longest a shipper waits after a failed call before
	// it tries again (it starts at 1s and doubles); logCredentialsTTL how
	// long it reuses credentials.
	shipRetry         = 30 * time.Second
	logCredentialsTTL = 10 * time.Minute
	// shipCallTimeout bounds one PutLogEvents call, which a stopping
	// agent lets finish.
	shipCallTimeout = 10 * time.Second
)

// awslogsOptions are a container's awslogs log driver options.
type awslogsOptions struct {
	Group        string `json:"group"`
	Region       string `json:"region,omitempty"`
	StreamPrefix string `json:"streamPrefix,omitempty"`
	CreateGroup  bool   `json:"createGroup,omitempty"`
}

// awslogsFrom reads the awslogs options of a log configuration.
func awslogsFrom(cfg map[string]string) awslogsOptions {
	create, _ := strconv.ParseBool(cfg["awslogs-create-group"])
	return awslogsOptions{Group: cfg["awslogs-group"], Region: cfg["awslogs-region"],
		StreamPrefix: cfg["awslogs-stream-prefix"], CreateGroup: create}
}

// streamName names a container's log stream as ECS does:
// prefix/container-name/task-id, or the Docker container id without a
// prefix.
func (o awslogsOptions) streamName(containerName, taskArn, containerID string) string {
	if o.StreamPrefix == "" {
		return containerID
	}
	return o.StreamPrefix + "/" + containerName + "/" + lastSegment(taskArn)
}

// shipLogs starts delivering a container's output to CloudWatch Logs,
// unless it is already being delivered.
func (a *Agent) shipLogs(ctx context.Context, taskArn, containerName, id string, opts awslogsOptions) {
	a.mu.Lock()
	if a.shipping == nil {
		a.shipping = map[string]bool{}
	}
	if a.shipping[id] {
		a.mu.Unlock()
		return
	}
	a.shipping[id] = true
	a.shippers.Add(1)
	a.mu.Unlock()
	s := &logShipper{a: a, opts: opts, taskArn: taskArn, id: id, stream: opts.streamName(containerName, taskArn, id),
		client: cloudwatchlogs.New(cloudwatchlogs.Options{Region: a.cfg.Region, BaseEndpoint: aws.String(a.cfg.Endpoint),
			HTTPClient: a.endpointClient, RetryMaxAttempts: 1})} // ship retries itself
	s.log = a.log.With("task", taskArn, "container", containerName, "logGroup", opts.Group, "logStream", s.stream)
	go func() {
		defer a.shippers.Done()
		defer func() {
			a.mu.Lock()
			delete(a.shipping, id)
			a.mu.Unlock()
		}()
		s.run(ctx)
	}()
}

// errNoDefinition is why an adopted task's output waits: its payload, and
// so its execution role, has not arrived yet.
var errNoDefinition = errors.New("the task's definition has not been received yet")

// logCredentials are the credentials output is shipped with: the task's
// execution role's when it has one, else the agent's own.
func (a *Agent) logCredentials(ctx context.Context, taskArn string) (aws.CredentialsProvider, error) {
	a.mu.Lock()
	var def *acs.Task
	if t := a.tasks[taskArn]; t != nil {
		def = t.def
	}
	a.mu.Unlock()
	if def == nil {
		return nil, errNoDefinition
	}
	creds, err := a.executionRole(ctx, taskArn, def)
	if err != nil || creds != nil {
		return creds, err
	}
	return a.creds, nil
}

// logPositionPath is where the time of a container's last shipped message
// is kept, so shipping resumes there after a restart.
func (a *Agent) logPositionPath(id string) string {
	return filepath.Join(a.cfg.DataDir, "awslogs", id)
}

func (a *Agent) loadLogPosition(id string) time.Time {
	b, err := os.ReadFile(a.logPositionPath(id))
	if err != nil {
		return time.Time{}
	}
	t, _ := time.Parse(time.RFC3339Nano, string(b))
	return t
}

func (a *Agent) saveLogPosition(id string, t time.Time) error {
	path := a.logPositionPath(id)
	if err := os.MkdirAll(filepath.Dir(path), 0o700); err != nil {
		return err
	}
	tmp := path + ".tmp"
	if err := os.WriteFile(tmp, []byte(t.Format(time.RFC3339Nano)), 0o600); err != nil {
		return err
	}
	return os.Rename(tmp, path)
}

// logShipper delivers one container's output to one log stream.
type logShipper struct {
	a       *Agent
	opts    awslogsOptions
	taskArn string
	id      string
	stream  string
	client  *cloudwatchlogs.Client // called with the shipper's credentials
	log     *slog.Logger
	// creds are reused until credsAt+logCredentialsTTL.
	creds   aws.CredentialsProvider
	credsAt time.Time
	// last is the Docker time of the last message shipped.
	last time.Time
}

// run ships until the container has stopped and its output is delivered,
// or ctx ends. Calls that fail are retried; until the stream exists
// nothing is read, so Docker's own log keeps the output meanwhile.
func (s *logShipper) run(ctx context.Context) {
	if s.opts.Group == "" {
		s.log.Error("awslogs: the log configuration has no awslogs-group; the container's output stays in Docker's log")
		return
	}
	if s.opts.Region != "" && s.opts.Region != s.a.cfg.Region {
		s.log.Error("awslogs: awslogs-region is not this instance's region, whose CloudWatch Logs is the only one reachable; the container's output stays in Docker's log",
			"awslogsRegion", s.opts.Region, "region", s.a.cfg.Region)
		return
	}
	s.last = s.a.loadLogPosition(s.id)
	backoff := retryBackoff()
	for {
		err := s.prepare(ctx)
		if err == nil {
			break
		}
		wait := backoff()
		if errors.Is(err, errNoDefinition) {
			wait = time.Second // it comes with the first payload
		} else {
			s.log.Error("awslogs: cannot deliver the container's output to CloudWatch Logs; retrying", "err", err, "retryIn", wait)
		}
		if !sleepCtx(ctx, wait) || s.gone(ctx) {
			return
		}
	}
	s.log.Info("awslogs: shipping the container's output", "since", s.last)
	for ctx.Err() == nil {
		if !s.follow(ctx) {
			return
		}
		st, err := s.a.rt.Inspect(ctx, s.id)
		if err == nil && !st.Running {
			return // stopped, and its whole output delivered
		}
		if dockerrt.IsNotFound(err) {
			return
		}
		sleepCtx(ctx, time.Second)
	}
}

// gone reports whether the container no longer exists.
func (s *logShipper) gone(ctx context.Context) bool {
	_, err := s.a.rt.Inspect(ctx, s.id)
	return dockerrt.IsNotFound(err)
}

// prepare creates the log group (with awslogs-create-group) and the
// stream.
func (s *logShipper) prepare(ctx context.Context) error {
	creds, err := s.credentials(ctx)
	if err == nil && s.opts.CreateGroup {
		_, err = s.client.CreateLogGroup(ctx, &cloudwatchlogs.CreateLogGroupInput{LogGroupName: aws.String(s.opts.Group)}, withCredentials(creds))
		err = ignoreCode(err, "ResourceAlreadyExistsException")
	}
	if err == nil {
		_, err = s.client.CreateLogStream(ctx, &cloudwatchlogs.CreateLogStreamInput{
			LogGroupName: aws.String(s.opts.Group), LogStreamName: aws.String(s.stream)}, withCredentials(creds))
		err = ignoreCode(err, "ResourceAlreadyExistsException")
	}
	s.failed(err)
	return err
}

// credentials returns the credentials to ship with, fetching them again
// once they have been used for logCredentialsTTL.
func (s *logShipper) credentials(ctx context.Context) (aws.CredentialsProvider, error) {
	if s.creds != nil && time.Since(s.credsAt) < logCredentialsTTL {
		return s.creds, nil
	}
	creds, err := s.a.logCredentials(ctx, s.taskArn)
	if err != nil {
		return nil, err
	}
	s.creds, s.credsAt = creds, time.Now()
	return creds, nil
}

// withCredentials makes a call with the given credentials.
func withCredentials(creds aws.CredentialsProvider) func(*cloudwatchlogs.Options) {
	return func(o *cloudwatchlogs.Options) { o.Credentials = creds }
}

// failed forgets the credentials after a call they may be to blame for.
func (s *logShipper) failed(err error) {
	switch errorCode(err) {
	case "AccessDeniedException", "ExpiredTokenException", "UnrecognizedClientException", "InvalidSignatureException":
		s.creds = nil
	}
}

func ignoreCode(err error, code string) error {
	if errorCode(err) == code {
		return nil
	}
	return err
}

// follow reads the container's output from after the last shipped message
// until the stream ends, shipping it in batches. It returns false when ctx
// ended first.
func (s *logShipper) follow(ctx context.Context) bool {
	ls, err := s.a.rt.Logs(ctx, s.id, s.last, true)
	if err != nil {
		s.log.Warn("awslogs: cannot read the container's output", "err", err)
		return sleepCtx(ctx, shipRetry)
	}
	defer ls.Close()
	lines := make(chan dockerrt.LogLine, 1024)
	go func() {
		defer close(lines)
		for {
			l, err := ls.Next()
			if err != nil {
				if err != io.EOF && ctx.Err() == nil {
					s.log.Warn("awslogs: reading the container's output", "err", err)
				}
				return
			}
			select {
			case lines <- l:
			case <-ctx.Done():
				return
			}
		}
	}()
	var batch []dockerrt.LogLine
	size := 0
	timer := time.NewTimer(shipInterval)
	defer timer.Stop()
	flush := func() bool {
		if len(batch) == 0 {
			return true
		}
		ok := s.put(ctx, batch)
		batch, size = batch[:0], 0
		return ok
	}
	for {
		select {
		case <-ctx.Done():
			return false
		case <-timer.C:
			if !flush() {
				return false
			}
			timer.Reset(shipInterval)
		case l, open := <-lines:
			if !open {
				return flush()
			}
			if !l.Time.After(s.last) || l.Text == "" {
				continue // shipped before a restart, or nothing to ship
			}
			n := len(l.Text) + shipEventOverhead
			if len(batch) == shipMaxEvents || size+n > shipMaxBytes || (len(batch) > 0 && l.Time.Sub(batch[0].Time) > shipMaxSpan) {
				if !flush() {
					return false
				}
			}
			batch = append(batch, l)
			size += n
		}
	}
}

// put ships one batch, retrying until it is delivered or ctx ends, and
// records how far the output has been shipped. A batch the API refuses
// as invalid is dropped with an error in the agent's log.
func (s *logShipper) put(ctx context.Context, batch []dockerrt.LogLine) bool {
	events := make([]types.InputLogEvent, len(batch))
	last := int64(0)
	for i, l := range batch {
		ts := max(l.Time.UnixMilli(), last) // chronological, as the API requires
		events[i], last = types.InputLogEvent{Timestamp: aws.Int64(ts), Message: aws.String(l.Text)}, ts
	}
	in := &cloudwatchlogs.PutLogEventsInput{LogGroupName: aws.String(s.opts.Group), LogStreamName: aws.String(s.stream), LogEvents: events}
	backoff := retryBackoff()
	for ctx.Err() == nil {
		creds, err := s.credentials(ctx)
		if err == nil {
			// A call once made is finished (and its position recorded)
			// even when the agent is stopping: cut short, its events
			// could be stored without the agent knowing, and shipped
			// again by the next one.
			pctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), shipCallTimeout)
			_, err = s.client.PutLogEvents(pctx, in, withCredentials(creds))
			cancel()
		}
		switch code := errorCode(err); {
		case err == nil:
		case code == "InvalidParameterException":
			s.log.Error("awslogs: CloudWatch Logs refused a batch of the container's output; dropping it", "events", len(batch), "err", err)
		case code == "ResourceNotFoundException":
			// The stream or group was deleted: create it again.
			s.log.Warn("awslogs: the log stream is gone; creating it again", "err", err)
			if err := s.prepare(ctx); err != nil {
				s.log.Error("awslogs: cannot deliver the container's output to CloudWatch Logs; retrying", "err", err, "retryIn", shipRetry)
				if !sleepCtx(ctx, shipRetry) {
					return false
				}
			}
			continue
		default:
			s.failed(err)
			wait := backoff()
			s.log.Error("awslogs: cannot deliver the container's output to CloudWatch Logs; retrying", "err", err, "retryIn", wait)
			if !sleepCtx(ctx, wait) {
				return false
			}
			continue
		}
		s.last = batch[len(batch)-1].Time
		if err := s.a.saveLogPosition(s.id, s.last); err != nil {
			s.log.Warn("awslogs: cannot record how far the output was shipped", "err", err)
		}
		return true
	}
	return false
}

// sleepCtx waits d; false if ctx ended first.
func sleepCtx(ctx context.Context, d time.Duration) bool {
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case <-ctx.Done():
		return false
	case <-t.C:
		return true
	}
}

// awslogsOf returns a container's awslogs options when its task
// definition sends its output to CloudWatch Logs.
func awslogsOf(cd *acs.Container) (awslogsOptions, bool) {
	var host dockerHostConfig
	if cd.DockerConfig.HostConfig == "" || json.Unmarshal([]byte(cd.DockerConfig.HostConfig), &host) != nil {
		return awslogsOptions{}, false
	}
	if lc := host.LogConfig; lc != nil && lc.Type == "awslogs" {
		return awslogsFrom(lc.Config), true
	}
	return awslogsOptions{}, false
}

// retryBackoff returns the waits between delivery attempts: 1s, doubling
// up to shipRetry, so that a short outage (the server restarting, the
// credentials being issued) delays the output by seconds, not shipRetry.
func retryBackoff() func() time.Duration {
	next := time.Second
	return func() time.Duration {
		d := next
		next = min(2*next, shipRetry)
		return d
	}
}
