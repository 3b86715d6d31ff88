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
	client *ecr.Client
	mu     sync.Mutex
	host   string // registry host the token is for
	auth   string // Engine API X-Registry-Auth value
	until  time.Time
}

func newRegistryAuth(cfg Config, creds aws.CredentialsProvider) *registryAuth {
	return &registryAuth{client: ecr.New(ecr.Options{Region: cfg.Region, Credentials: creds, BaseEndpoint: aws.String(cfg.Endpoint), RetryMaxAttempts: 3})}
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
		out, err := r.client.GetAuthorizationToken(ctx, &ecr.GetAuthorizationTokenInput{})
		if err != nil || len(out.AuthorizationData) == 0 {
			return ""
		}
		d := out.AuthorizationData[0]
		raw, err := base64.StdEncoding.DecodeString(aws.ToString(d.AuthorizationToken))
		if err != nil {
			return ""
		}
		user, password, _ := strings.Cut(string(raw), ":")
		u, err := url.Parse(aws.ToString(d.ProxyEndpoint))
		if err != nil {
			return ""
		}
		b, _ := json.Marshal(map[string]string{"username": user, "password": password, "serveraddress": u.Host})
		r.host, r.auth = u.Host, base64.URLEncoding.EncodeToString(b)
		// Renew well before the 12 h expiry.
		r.until = time.Now().Add(time.Hour)
		if d.ExpiresAt != nil && d.ExpiresAt.Before(r.until.Add(time.Minute)) {
			r.until = d.ExpiresAt.Add(-time.Minute)
		}
	}
	if host != r.host {
		return ""
	}
	return r.auth
}
