package acs

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"net"
	"net/http"
	"strings"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	v4 "github.com/aws/aws-sdk-go-v2/aws/signer/v4"
	"github.com/gorilla/websocket"
)

// Dial opens an agent websocket (ACS or TCS) at an http(s) URL, with the
// GET signed by SigV4 for the ecs service as the ECS agent signs it. On a
// refused handshake the response is returned for its error body.
func Dial(ctx context.Context, rawURL string, creds aws.Credentials, region string) (*websocket.Conn, *http.Response, error) {
	return DialVia(ctx, nil, rawURL, creds, region)
}

// DialVia is Dial over connections made by netDial (nil: TCP), such as the
// in-memory ones through which a benchmark connects thousands of
// simulated agents without a socket each.
func DialVia(ctx context.Context, netDial func(ctx context.Context, network, addr string) (net.Conn, error), rawURL string, creds aws.Credentials, region string) (*websocket.Conn, *http.Response, error) {
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, rawURL, nil)
	if err != nil {
		return nil, nil, err
	}
	if err := SignGet(ctx, req, creds, "ecs", region); err != nil {
		return nil, nil, fmt.Errorf("sign websocket request: %w", err)
	}
	wsURL := strings.Replace(strings.Replace(rawURL, "https://", "wss://", 1), "http://", "ws://", 1)
	dialer := websocket.Dialer{HandshakeTimeout: 15 * time.Second, NetDialContext: netDial}
	return dialer.DialContext(ctx, wsURL, req.Header)
}

// SignGet signs a request without a body (an agent's GET to the server)
// with SigV4 for service.
func SignGet(ctx context.Context, req *http.Request, creds aws.Credentials, service, region string) error {
	empty := sha256.Sum256(nil)
	return v4.NewSigner().SignHTTP(ctx, creds, req, hex.EncodeToString(empty[:]), service, region, time.Now())
}
