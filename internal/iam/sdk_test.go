package iam

import (
	"context"
	"errors"
	"io"
	"log/slog"
	"net/http/httptest"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/credentials"
	"github.com/aws/aws-sdk-go-v2/service/sts"
	"github.com/aws/smithy-go"

	"github.com/berth-dev/berth/internal/api"
	"github.com/berth-dev/berth/internal/auth"
	"github.com/berth-dev/berth/internal/store"
)

// stsClient returns an aws-sdk-go-v2 STS client for the endpoint.
func stsClient(endpoint, id, secret, token string) *sts.Client {
	return sts.NewFromConfig(aws.Config{Region: "us-east-1", Credentials: credentials.NewStaticCredentialsProvider(id, secret, token)},
		func(o *sts.Options) { o.BaseEndpoint = aws.String(endpoint) })
}

func errorCode(err error) string {
	var ae smithy.APIError
	if errors.As(err, &ae) {
		return ae.ErrorCode()
	}
	return ""
}

// sdkAccount is the account sdkServer serves, with root keys.
var sdkAccount = auth.Account{ID: testAccount, RootAccessKeyID: "AKIAROOTROOTROOTROOT", RootSecretAccessKey: "rootsecret"}

// sdkServer serves s's IAM and STS APIs over HTTP with SigV4, as berth does.
func sdkServer(t *testing.T, s *Service) (auth.Account, *httptest.Server) {
	authn := auth.NewAuthenticator(sdkAccount, "us-east-1")
	authn.UseKeys(s)
	router := api.NewRouter(authn, slog.New(slog.NewTextHandler(io.Discard, nil)))
	router.AddQuery(s.QueryService())
	router.AddQuery(s.STSQueryService())
	srv := httptest.NewServer(router)
	t.Cleanup(srv.Close)
	return sdkAccount, srv
}

// TestSTSWithSDK drives STS through the router with the Go SDK: signed
// Query requests, XML results and errors, user keys and role sessions.
func TestSTSWithSDK(t *testing.T) {
	s := newTestService(t)
	acct, srv := sdkServer(t, s)
	ctx := context.Background()

	rootID := must(stsClient(srv.URL, acct.RootAccessKeyID, acct.RootSecretAccessKey, "").GetCallerIdentity(ctx, &sts.GetCallerIdentityInput{}))
	if aws.ToString(rootID.Arn) != acct.RootARN() || aws.ToString(rootID.UserId) != testAccount {
		t.Fatalf("root identity: %s %s", aws.ToString(rootID.Arn), aws.ToString(rootID.UserId))
	}

	must(s.CreateUser(as(root), &CreateUserInput{UserName: "sdk"}))
	key := must(s.CreateAccessKey(as(root), &UserNameInput{UserName: "sdk"})).AccessKey
	role := must(s.CreateRole(as(root), &CreateRoleInput{RoleName: "sdk-role", AssumeRolePolicyDocument: trustUser("sdk")})).Role
	user := stsClient(srv.URL, key.AccessKeyId, key.SecretAccessKey, "")
	id := must(user.GetCallerIdentity(ctx, &sts.GetCallerIdentityInput{}))
	if aws.ToString(id.Arn) != "arn:aws:iam::123456789012:user/sdk" || aws.ToString(id.Account) != testAccount {
		t.Fatalf("user identity: %s", aws.ToString(id.Arn))
	}
	_, err := stsClient(srv.URL, key.AccessKeyId, "wrong", "").GetCallerIdentity(ctx, &sts.GetCallerIdentityInput{})
	if errorCode(err) != "SignatureDoesNotMatch" {
		t.Fatalf("wrong secret: %v", err)
	}
	_, err = stsClient(srv.URL, "AKIANOSUCHKEY0000000", "x", "").GetCallerIdentity(ctx, &sts.GetCallerIdentityInput{})
	if errorCode(err) != "InvalidClientTokenId" {
		t.Fatalf("unknown key: %v", err)
	}

	out, err := user.AssumeRole(ctx, &sts.AssumeRoleInput{RoleArn: aws.String(role.Arn), RoleSessionName: aws.String("sdk-session"), DurationSeconds: aws.Int32(900)})
	if err != nil {
		t.Fatal(err)
	}
	c := out.Credentials
	if time.Until(aws.ToTime(c.Expiration)) > 15*time.Minute || aws.ToString(out.AssumedRoleUser.Arn) != "arn:aws:sts::123456789012:assumed-role/sdk-role/sdk-session" {
		t.Fatalf("AssumeRole: %+v %+v", c, out.AssumedRoleUser)
	}
	sess := stsClient(srv.URL, aws.ToString(c.AccessKeyId), aws.ToString(c.SecretAccessKey), aws.ToString(c.SessionToken))
	sid := must(sess.GetCallerIdentity(ctx, &sts.GetCallerIdentityInput{}))
	if aws.ToString(sid.Arn) != aws.ToString(out.AssumedRoleUser.Arn) || aws.ToString(sid.UserId) != aws.ToString(out.AssumedRoleUser.AssumedRoleId) {
		t.Fatalf("session identity: %s %s", aws.ToString(sid.Arn), aws.ToString(sid.UserId))
	}
	_, err = user.AssumeRole(ctx, &sts.AssumeRoleInput{RoleArn: aws.String(role.Arn), RoleSessionName: aws.String("x"), DurationSeconds: aws.Int32(900)})
	if errorCode(err) != "ValidationError" {
		t.Fatalf("one-character session name: %v", err)
	}

	// Once the session expires its credentials say so.
	must(store.Update(ctx, s.store, sessionsPrefix+aws.ToString(c.AccessKeyId), func(ss *session) error {
		ss.Expiration = time.Now().Add(-time.Minute)
		return nil
	}))
	_, err = sess.GetCallerIdentity(ctx, &sts.GetCallerIdentityInput{})
	if errorCode(err) != "ExpiredToken" {
		t.Fatalf("expired session: %v", err)
	}
}
