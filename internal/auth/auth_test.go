package auth

import (
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/hex"
	"net/http"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	v4 "github.com/aws/aws-sdk-go-v2/aws/signer/v4"

	"github.com/berth-dev/berth/internal/api"
)

type fakeKeys map[string]Key

func (f fakeKeys) ResolveKey(_ context.Context, id string) (Key, bool, error) {
	k, ok := f[id]
	return k, ok, nil
}

// signed builds a request signed with the given credentials for service
// in us-east-1.
func signed(t *testing.T, id, secret, token, service string) (*http.Request, []byte) {
	return signedIn(t, id, secret, token, service, "us-east-1")
}

// signedIn builds a request signed with the given credentials for service
// in region.
func signedIn(t *testing.T, id, secret, token, service, region string) (*http.Request, []byte) {
	t.Helper()
	body := []byte("Action=GetCallerIdentity&Version=2011-06-15")
	req, _ := http.NewRequest(http.MethodPost, "http://berth.local/", bytes.NewReader(body))
	req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	sum := sha256.Sum256(body)
	creds := aws.Credentials{AccessKeyID: id, SecretAccessKey: secret, SessionToken: token}
	if err := v4.NewSigner().SignHTTP(context.Background(), creds, req, hex.EncodeToString(sum[:]), service, region, time.Now()); err != nil {
		t.Fatal(err)
	}
	return req, body
}

func TestAuthenticateKeys(t *testing.T) {
	acct := Account{ID: "123456789012", RootAccessKeyID: "AKIAROOT", RootSecretAccessKey: "rootsecret"}
	user := api.Principal{Account: acct.ID, ARN: "arn:aws:iam::123456789012:user/alice", AccessKeyID: "AKIAUSER", UserID: "AIDAALICE"}
	role := api.Principal{Account: acct.ID, ARN: "arn:aws:sts::123456789012:assumed-role/r/s", AccessKeyID: "ASIASESSION", UserID: "AROAR:s"}
	keys := fakeKeys{
		"AKIAUSER":    {SecretAccessKey: "usersecret", Principal: user},
		"AKIAOFF":     {SecretAccessKey: "offsecret", Inactive: true},
		"ASIASESSION": {SecretAccessKey: "sesssecret", SessionToken: "tok", Principal: role, Expires: time.Now().Add(time.Hour)},
		"ASIAOLD":     {SecretAccessKey: "oldsecret", SessionToken: "tok", Expires: time.Now().Add(-time.Second)},
	}
	a := NewAuthenticator(acct, "us-east-1")
	a.UseKeys(keys)
	tests := []struct {
		name, id, secret, token string
		wantARN, wantCode       string
	}{
		{"root", "AKIAROOT", "rootsecret", "", acct.RootARN(), ""},
		{"active user key", "AKIAUSER", "usersecret", "", user.ARN, ""},
		{"wrong secret", "AKIAUSER", "nope", "", "", "InvalidSignatureException"},
		{"inactive key", "AKIAOFF", "offsecret", "", "", "UnrecognizedClientException"},
		{"unknown key", "AKIANONE", "x", "", "", "UnrecognizedClientException"},
		{"session", "ASIASESSION", "sesssecret", "tok", role.ARN, ""},
		{"session without token", "ASIASESSION", "sesssecret", "", "", "UnrecognizedClientException"},
		{"expired session", "ASIAOLD", "oldsecret", "tok", "", CodeExpiredToken},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			req, body := signed(t, tt.id, tt.secret, tt.token, "sts")
			p, err := a.For("sts").Authenticate(context.Background(), req, body)
			if tt.wantCode != "" {
				if err == nil || api.AsError(err).Code != tt.wantCode {
					t.Fatalf("err = %v, want %s", err, tt.wantCode)
				}
				return
			}
			if err != nil || p.ARN != tt.wantARN {
				t.Fatalf("got %+v, %v; want %s", p, err, tt.wantARN)
			}
		})
	}
	if p, ok := a.PrincipalForKey("AKIAUSER"); !ok || p.ARN != user.ARN {
		t.Fatalf("PrincipalForKey(user) = %+v %v", p, ok)
	}
	for _, id := range []string{"AKIAOFF", "ASIAOLD", "AKIANONE"} {
		if _, ok := a.PrincipalForKey(id); ok {
			t.Fatalf("PrincipalForKey(%s) found a principal", id)
		}
	}
}

// TestCredentialScope checks that a signature scoped to another region or
// to a service other than the request's is refused in AWS's words, and
// which regions the global services (IAM, STS) take.
func TestCredentialScope(t *testing.T) {
	acct := Account{ID: "123456789012", RootAccessKeyID: "AKIAROOT", RootSecretAccessKey: "rootsecret"}
	a := NewAuthenticator(acct, "eu-west-1")
	tests := []struct {
		name, service, signedFor, region string
		wantMessage                      string // "" means accepted
	}{
		{"same service and region", "ecs", "ecs", "eu-west-1", ""},
		{"other region", "ecs", "ecs", "us-west-2", "Credential should be scoped to a valid region, not 'us-west-2'. "},
		{"us-east-1 for a regional service", "logs", "logs", "us-east-1", "Credential should be scoped to a valid region, not 'us-east-1'. "},
		{"other service", "ecs", "ecr", "eu-west-1", "Credential should be scoped to correct service: 'ecs'. "},
		{"ecr signed for ecs", "ecr", "ecs", "eu-west-1", "Credential should be scoped to correct service: 'ecr'. "},
		{"logs signed for ecs", "logs", "ecs", "eu-west-1", "Credential should be scoped to correct service: 'logs'. "},
		{"iam in the server's region", "iam", "iam", "eu-west-1", ""},
		{"iam in us-east-1", "iam", "iam", "us-east-1", ""},
		{"iam in a third region", "iam", "iam", "ap-south-1", "Credential should be scoped to a valid region, not 'ap-south-1'. "},
		{"iam signed for sts", "iam", "sts", "us-east-1", "Credential should be scoped to correct service: 'iam'. "},
		{"sts in us-east-1", "sts", "sts", "us-east-1", ""},
		{"sts signed for iam", "sts", "iam", "eu-west-1", "Credential should be scoped to correct service: 'sts'. "},
		{"made-up service", "ecs", "s3", "eu-west-1", "Credential should be scoped to correct service: 'ecs'. "},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			req, body := signedIn(t, "AKIAROOT", "rootsecret", "", tt.signedFor, tt.region)
			p, err := a.For(tt.service).Authenticate(context.Background(), req, body)
			if tt.wantMessage == "" {
				if err != nil || !p.Root {
					t.Fatalf("got %+v, %v; want the root principal", p, err)
				}
				return
			}
			e := api.AsError(err)
			if err == nil || e.Code != "InvalidSignatureException" || e.Message != tt.wantMessage || e.Status != http.StatusForbidden {
				t.Fatalf("err = %v, want 403 InvalidSignatureException %q", err, tt.wantMessage)
			}
		})
	}
}
