package ecr

import (
	"context"
	"encoding/base64"
	"errors"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"github.com/berth-dev/berth/internal/api"
	"github.com/berth-dev/berth/internal/store"
)

var root = api.Principal{Account: "123456789012", ARN: "arn:aws:iam::123456789012:root", AccessKeyID: "AKIDROOT", Root: true}

func newService(t *testing.T) (*Service, context.Context) {
	t.Helper()
	st, err := store.Open(context.Background(), store.Config{DataDir: t.TempDir()})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { st.Close() })
	lookup := func(key string) (api.Principal, bool) { return root, key == root.AccessKeyID }
	s, err := New(context.Background(), Config{Region: "us-east-1", Account: "123456789012", RegistryHost: "localhost:4600", DataDir: t.TempDir()},
		st, api.RootOnly{}, lookup, slog.New(slog.NewTextHandler(io.Discard, nil)))
	if err != nil {
		t.Fatal(err)
	}
	return s, api.WithPrincipal(context.Background(), root)
}

func code(err error) string {
	var e *api.Error
	if errors.As(err, &e) {
		return e.Code
	}
	return ""
}

func TestRepositories(t *testing.T) {
	s, ctx := newService(t)
	out, err := s.CreateRepository(ctx, &CreateRepositoryInput{RepositoryName: "team/app", ImageTagMutability: "IMMUTABLE"})
	if err != nil {
		t.Fatal(err)
	}
	if r := out.Repository; r.RepositoryUri != "localhost:4600/team/app" || r.RepositoryArn != "arn:aws:ecr:us-east-1:123456789012:repository/team/app" ||
		r.EncryptionConfiguration.EncryptionType != "AES256" || r.ImageTagMutability != "IMMUTABLE" {
		t.Fatalf("repository = %+v", r)
	}
	for _, tt := range []struct {
		name string
		in   CreateRepositoryInput
		want string
	}{
		{"exists", CreateRepositoryInput{RepositoryName: "team/app"}, "RepositoryAlreadyExistsException"},
		{"upper case", CreateRepositoryInput{RepositoryName: "App"}, "InvalidParameterException"},
		{"too short", CreateRepositoryInput{RepositoryName: "a"}, "InvalidParameterException"},
		{"bad mutability", CreateRepositoryInput{RepositoryName: "x1", ImageTagMutability: "SOMETIMES"}, "InvalidParameterException"},
		{"other registry", CreateRepositoryInput{RepositoryName: "x2", RegistryId: "999999999999"}, "InvalidParameterException"},
		{"bad tag", CreateRepositoryInput{RepositoryName: "x3", Tags: []Tag{{Key: ""}}}, "InvalidTagParameterException"},
	} {
		t.Run(tt.name, func(t *testing.T) {
			if _, err := s.CreateRepository(ctx, &tt.in); code(err) != tt.want {
				t.Fatalf("error %v, want %s", err, tt.want)
			}
		})
	}
	list, err := s.DescribeRepositories(ctx, &DescribeRepositoriesInput{})
	if err != nil || len(list.Repositories) != 1 {
		t.Fatalf("describe all = %+v, %v (rejected creates must not exist)", list, err)
	}
	if _, err := s.DescribeRepositories(ctx, &DescribeRepositoriesInput{RepositoryNames: []string{"nope"}}); code(err) != "RepositoryNotFoundException" {
		t.Fatalf("describe unknown: %v", err)
	}
	if _, err := s.DeleteRepository(ctx, &DeleteRepositoryInput{RepositoryName: "team/app"}); err != nil {
		t.Fatalf("delete empty repository: %v", err)
	}
	if _, err := s.DeleteRepository(ctx, &DeleteRepositoryInput{RepositoryName: "team/app"}); code(err) != "RepositoryNotFoundException" {
		t.Fatalf("delete twice: %v", err)
	}
}

func TestTokens(t *testing.T) {
	s, ctx := newService(t)
	out, err := s.GetAuthorizationToken(ctx, &GetAuthorizationTokenInput{})
	if err != nil {
		t.Fatal(err)
	}
	d := out.AuthorizationData[0]
	raw, _ := base64.StdEncoding.DecodeString(d.AuthorizationToken)
	user, password, _ := strings.Cut(string(raw), ":")
	if user != "AWS" || d.ProxyEndpoint != "http://localhost:4600" || d.ExpiresAt.Sub(time.Now()) < 11*time.Hour {
		t.Fatalf("authorization data = %+v", d)
	}
	if p, ok := s.verify(password, time.Now()); !ok || p.ARN != root.ARN {
		t.Fatalf("fresh token rejected")
	}
	tampered := strings.Replace(password, password[:4], "AAAA", 1)
	for name, pw := range map[string]string{"tampered": tampered, "no signature": strings.Split(password, ".")[0], "garbage": "x"} {
		if _, ok := s.verify(pw, time.Now()); ok {
			t.Errorf("%s token accepted", name)
		}
	}
	if _, ok := s.verify(password, time.Now().Add(TokenLifetime+time.Second)); ok {
		t.Error("expired token accepted")
	}
	if _, ok := s.verify(s.sign(tokenClaims{AccessKeyID: "AKIDGONE", Expires: time.Now().Add(time.Hour).Unix()}), time.Now()); ok {
		t.Error("token of an unknown key accepted")
	}
}

func TestRegistryAuthAndRepositories(t *testing.T) {
	s, ctx := newService(t)
	srv := httptest.NewServer(s.RegistryHandler())
	defer srv.Close()
	out, _ := s.GetAuthorizationToken(ctx, &GetAuthorizationTokenInput{})
	raw, _ := base64.StdEncoding.DecodeString(out.AuthorizationData[0].AuthorizationToken)
	_, password, _ := strings.Cut(string(raw), ":")
	if _, err := s.CreateRepository(ctx, &CreateRepositoryInput{RepositoryName: "app"}); err != nil {
		t.Fatal(err)
	}
	get := func(path, pw string) *http.Response {
		req, _ := http.NewRequest(http.MethodGet, srv.URL+path, nil)
		if pw != "" {
			req.SetBasicAuth("AWS", pw)
		}
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		resp.Body.Close()
		return resp
	}
	if r := get("/v2/", ""); r.StatusCode != 401 || !strings.HasPrefix(r.Header.Get("WWW-Authenticate"), `Basic realm=`) {
		t.Fatalf("anonymous /v2/: %d %q", r.StatusCode, r.Header.Get("WWW-Authenticate"))
	}
	if r := get("/v2/", password); r.StatusCode != 200 {
		t.Fatalf("authenticated /v2/: %d", r.StatusCode)
	}
	if r := get("/v2/nope/tags/list", password); r.StatusCode != 404 {
		t.Fatalf("unknown repository: %d, want 404 NAME_UNKNOWN", r.StatusCode)
	}
	if r := get("/v2/app/manifests/latest", password); r.StatusCode != 404 {
		t.Fatalf("unknown manifest: %d, want 404", r.StatusCode)
	}
}

func TestRepoFromPathAndActions(t *testing.T) {
	for path, want := range map[string]string{
		"/v2/app/manifests/latest": "app", "/v2/team/app/blobs/sha256:abc": "team/app",
		"/v2/a/b/c/blobs/uploads/": "a/b/c", "/v2/app/tags/list": "app", "/v2/": "", "/v2/_catalog": "",
	} {
		if got := repoFromPath(path); got != want {
			t.Errorf("repoFromPath(%q) = %q, want %q", path, got, want)
		}
	}
	for _, tt := range []struct {
		method, path, want string
	}{
		{"GET", "/v2/app/manifests/v1", "BatchGetImage"},
		{"HEAD", "/v2/app/blobs/sha256:x", "GetDownloadUrlForLayer"},
		{"POST", "/v2/app/blobs/uploads/", "InitiateLayerUpload"},
		{"PUT", "/v2/app/manifests/v1", "PutImage"},
		{"DELETE", "/v2/app/manifests/sha256:x", "BatchDeleteImage"},
	} {
		r := httptest.NewRequest(tt.method, tt.path, nil)
		if got := registryActions(r); got[0] != tt.want {
			t.Errorf("%s %s needs %v, want %s", tt.method, tt.path, got, tt.want)
		}
	}
}
