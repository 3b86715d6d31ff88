// Package auth authenticates AWS API callers: the account's root
// credentials and SigV4 verification of each request.
package auth

import (
	"context"
	"crypto/rand"
	"errors"
	"fmt"
	"net/http"
	"os"

	"github.com/berth-dev/berth/internal/api"
	"github.com/berth-dev/berth/internal/auth/sigv4"
	"github.com/berth-dev/berth/internal/store"
)

// Account is the account Berth serves, with its root credentials.
type Account struct {
	ID                  string `json:"id"`
	RootAccessKeyID     string `json:"rootAccessKeyId"`
	RootSecretAccessKey string `json:"rootSecretAccessKey"`
}

const accountKey = "/berth/account"

// EnsureAccount loads the account from the store or creates it on first
// start, taking root credentials from BERTH_ROOT_ACCESS_KEY_ID and
// BERTH_ROOT_SECRET_ACCESS_KEY when set.
func EnsureAccount(ctx context.Context, st *store.Store, accountID string) (Account, error) {
	it, err := store.Get[Account](ctx, st, accountKey)
	if err == nil {
		return it.Value, nil
	}
	if !errors.Is(err, store.ErrNotFound) {
		return Account{}, err
	}
	acct := Account{
		ID:                  accountID,
		RootAccessKeyID:     os.Getenv("BERTH_ROOT_ACCESS_KEY_ID"),
		RootSecretAccessKey: os.Getenv("BERTH_ROOT_SECRET_ACCESS_KEY"),
	}
	if (acct.RootAccessKeyID == "") != (acct.RootSecretAccessKey == "") {
		return Account{}, errors.New("set both BERTH_ROOT_ACCESS_KEY_ID and BERTH_ROOT_SECRET_ACCESS_KEY, or neither")
	}
	if acct.RootAccessKeyID == "" {
		acct.RootAccessKeyID = "AKIA" + randomString("ABCDEFGHIJKLMNOPQRSTUVWXYZ234567", 16)
		acct.RootSecretAccessKey = randomString("ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/", 40)
	}
	err = st.Commit(ctx, store.NewTxn().IfAbsent(accountKey).Put(accountKey, acct))
	if errors.Is(err, store.ErrConflict) {
		// Another server created it first; use theirs.
		return EnsureAccount(ctx, st, accountID)
	}
	if err != nil {
		return Account{}, fmt.Errorf("create account: %w", err)
	}
	return acct, nil
}

func randomString(alphabet string, n int) string {
	b := make([]byte, n)
	rand.Read(b)
	for i := range b {
		b[i] = alphabet[int(b[i])%len(alphabet)]
	}
	return string(b)
}

// RootARN is the ARN of the account's root user.
func (a Account) RootARN() string { return "arn:aws:iam::" + a.ID + ":root" }

// Authenticator verifies SigV4 signatures against the account's credentials.
type Authenticator struct {
	account  Account
	verifier *sigv4.Verifier
}

// NewAuthenticator returns an Authenticator for the account.
func NewAuthenticator(acct Account) *Authenticator {
	a := &Authenticator{account: acct}
	a.verifier = &sigv4.Verifier{Lookup: func(_ context.Context, key string) (sigv4.Credentials, bool) {
		if key == acct.RootAccessKeyID {
			return sigv4.Credentials{AccessKeyID: key, SecretAccessKey: acct.RootSecretAccessKey}, true
		}
		return sigv4.Credentials{}, false
	}}
	return a
}

// PrincipalForKey returns the principal an access key belongs to.
func (a *Authenticator) PrincipalForKey(accessKeyID string) (api.Principal, bool) {
	if accessKeyID != a.account.RootAccessKeyID {
		return api.Principal{}, false
	}
	return api.Principal{Account: a.account.ID, ARN: a.account.RootARN(), AccessKeyID: accessKeyID, Root: true}, true
}

// Authenticate implements api.Authenticator.
func (a *Authenticator) Authenticate(ctx context.Context, r *http.Request, body []byte) (api.Principal, error) {
	res, err := a.verifier.Verify(ctx, r, body)
	if err != nil {
		var se *sigv4.Error
		if errors.As(err, &se) {
			return api.Principal{}, &api.Error{Code: se.Code, Message: se.Message, Status: se.StatusCode()}
		}
		return api.Principal{}, err
	}
	return api.Principal{Account: a.account.ID, ARN: a.account.RootARN(), AccessKeyID: res.AccessKeyID, Root: true}, nil
}
