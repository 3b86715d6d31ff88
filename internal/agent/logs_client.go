package agent

import (
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"strings"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	v4 "github.com/aws/aws-sdk-go-v2/aws/signer/v4"
)

// logsClient calls the CloudWatch Logs API (AWS JSON 1.1) of the server,
// signing each call with the credentials it is given.
type logsClient struct {
	endpoint, region string
	http             *http.Client
}

// logsError is an error the Logs API answered with.
type logsError struct{ Code, Message string }

func (e *logsError) Error() string { return e.Code + ": " + e.Message }

// call runs op with in as the request and decodes the response into out
// (nil to discard it).
func (c *logsClient) call(ctx context.Context, creds aws.CredentialsProvider, op string, in, out any) error {
	body, err := json.Marshal(in)
	if err != nil {
		return fmt.Errorf("encode %s: %w", op, err)
	}
	cr, err := creds.Retrieve(ctx)
	if err != nil {
		return fmt.Errorf("credentials for %s: %w", op, err)
	}
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, strings.TrimSuffix(c.endpoint, "/")+"/", bytes.NewReader(body))
	if err != nil {
		return err
	}
	req.Header.Set("Content-Type", "application/x-amz-json-1.1")
	req.Header.Set("X-Amz-Target", "Logs_20140328."+op)
	sum := sha256.Sum256(body)
	if err := v4.NewSigner().SignHTTP(ctx, cr, req, hex.EncodeToString(sum[:]), "logs", c.region, time.Now()); err != nil {
		return fmt.Errorf("sign %s: %w", op, err)
	}
	resp, err := c.http.Do(req)
	if err != nil {
		return fmt.Errorf("%s: %w", op, err)
	}
	defer resp.Body.Close()
	data, err := io.ReadAll(io.LimitReader(resp.Body, 4<<20))
	if err != nil {
		return fmt.Errorf("%s: read response: %w", op, err)
	}
	if resp.StatusCode != http.StatusOK {
		var e struct {
			Type    string `json:"__type"`
			Message string `json:"message"`
		}
		if json.Unmarshal(data, &e) != nil || e.Type == "" {
			return fmt.Errorf("%s: HTTP %d: %s", op, resp.StatusCode, bytes.TrimSpace(data))
		}
		if _, code, found := strings.Cut(e.Type, "#"); found {
			e.Type = code
		}
		return &logsError{Code: e.Type, Message: e.Message}
	}
	if out == nil {
		return nil
	}
	if err := json.Unmarshal(data, out); err != nil {
		return fmt.Errorf("%s: decode response: %w", op, err)
	}
	return nil
}
