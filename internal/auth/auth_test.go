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

// signed builds a request signed with the given credentials for service.
func signed(t *testing.T, id, secret, token, service string) (*http.Request, []byte) {
	t.Helper()
	body := []byte("Action=GetCallerIdentity&Version=2011-06-15")
	req, _ := http.NewRequest(http.MethodPost, "http://berth.local/", bytes.NewReader(body))
	req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	sum := sha256.Sum256(body)
	creds := aws.Credentials{AccessKeyID: id, SecretAccessKey: secret, SessionToken: token}
	if err := v4.NewSigner().SignHTTP(context.Background(), creds, req, hex.EncodeToString(sum[:]), service, "us-east-1", time.Now()); err != nil {
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
	a := NewAuthenticator(acct)
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
			p, err := a.Authenticate(context.Background(), req, body)
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
