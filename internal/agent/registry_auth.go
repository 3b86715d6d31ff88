package agent

import (
	"context"
	"encoding/base64"
	"encoding/json"
	"net/url"
	"strings"
	"sync"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/ecr"
)

// registryAuth fetches and caches an ECR token for the cluster's registry,
// so the agent pulls Berth ECR images as itself.
type registryAuth struct {
	cfg    Config
	client *ecr.Client
	mu     sync.Mutex
	host   string // registry host the token is for
	auth   string // Engine API X-Registry-Auth value
	until  time.Time
}

func newRegistryAuth(cfg Config, creds aws.CredentialsProvider) *registryAuth {
	return &registryAuth{cfg: cfg, client: registryClient(cfg, creds)}
}

func registryClient(cfg Config, creds aws.CredentialsProvider) *ecr.Client {
	return ecr.New(ecr.Options{Region: cfg.Region, Credentials: creds, BaseEndpoint: aws.String(cfg.Endpoint), RetryMaxAttempts: 3})
}

// forImage returns the Engine API auth for image, or "" when the image is
// not in the cluster's registry (or no token can be had).
func (r *registryAuth) forImage(ctx context.Context, image string) string {
	host, _, found := strings.Cut(image, "/")
	if !found {
		return ""
	}
	r.mu.Lock()
	defer r.mu.Unlock()
	if time.Now().After(r.until) {
		tokenHost, auth, expires, err := registryToken(ctx, r.client)
		if err != nil {
			return ""
		}
		r.host, r.auth = tokenHost, auth
		// Renew well before the 12 h expiry.
		r.until = time.Now().Add(time.Hour)
		if !expires.IsZero() && expires.Before(r.until.Add(time.Minute)) {
			r.until = expires.Add(-time.Minute)
		}
	}
	if host != r.host {
		return ""
	}
	return r.auth
}

// forImageAs is forImage with other credentials (a task's execution
// role), not cached. A token that cannot be had is an error: the pull
// then fails as the execution role's.
func (r *registryAuth) forImageAs(ctx context.Context, image string, creds aws.CredentialsProvider) (string, error) {
	host, _, _ := strings.Cut(image, "/")
	tokenHost, auth, _, err := registryToken(ctx, registryClient(r.cfg, creds))
	if err != nil || host != tokenHost {
		return "", err
	}
	return auth, nil
}

// registryToken calls GetAuthorizationToken and renders the token as
// Engine API auth for the registry host it names.
func registryToken(ctx context.Context, client *ecr.Client) (host, auth string, expires time.Time, err error) {
	out, err := client.GetAuthorizationToken(ctx, &ecr.GetAuthorizationTokenInput{})
	if err != nil {
		return "", "", time.Time{}, err
	}
	if len(out.AuthorizationData) == 0 {
		return "", "", time.Time{}, nil
	}
	d := out.AuthorizationData[0]
	raw, err := base64.StdEncoding.DecodeString(aws.ToString(d.AuthorizationToken))
	if err != nil {
		return "", "", time.Time{}, err
	}
	user, password, _ := strings.Cut(string(raw), ":")
	u, err := url.Parse(aws.ToString(d.ProxyEndpoint))
	if err != nil {
		return "", "", time.Time{}, err
	}
	b, _ := json.Marshal(map[string]string{"username": user, "password": password, "serveraddress": u.Host})
	return u.Host, base64.URLEncoding.EncodeToString(b), aws.ToTime(d.ExpiresAt), nil
}
