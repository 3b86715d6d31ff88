package agent

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"net/http"
	"net/url"
	"strings"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	v4 "github.com/aws/aws-sdk-go-v2/aws/signer/v4"
	"github.com/aws/smithy-go"
)

// instanceRole provides the credentials of the role in the instance's
// instance profile, as the metadata service of an EC2 instance launched
// with that profile does. The launch credentials (whoever starts the
// agent; they must be allowed iam:PassRole on the role) only sign the
// request for them: every other call the agent makes runs as the role's
// session, arn:aws:sts::<account>:assumed-role/<role>/<instance id>.
type instanceRole struct {
	endpoint, region, profile string
	launch                    aws.CredentialsProvider
	instanceID                func() string
	client                    *http.Client
}

// metadataCredentials is the instance metadata shape of role credentials.
type metadataCredentials struct {
	Code            string
	AccessKeyId     string
	SecretAccessKey string
	Token           string
	Expiration      time.Time
}

// Retrieve implements aws.CredentialsProvider; wrap it in an
// aws.CredentialsCache, which renews the credentials before they expire.
func (r *instanceRole) Retrieve(ctx context.Context) (aws.Credentials, error) {
	launch, err := r.launch.Retrieve(ctx)
	if err != nil {
		return aws.Credentials{}, err
	}
	u := strings.TrimSuffix(r.endpoint, "/") + "/berth/instance-credentials?" +
		url.Values{"instanceProfile": {r.profile}, "instanceId": {r.instanceID()}}.Encode()
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, u, nil)
	if err != nil {
		return aws.Credentials{}, err
	}
	empty := sha256.Sum256(nil)
	if err := v4.NewSigner().SignHTTP(ctx, launch, req, hex.EncodeToString(empty[:]), "iam", r.region, time.Now()); err != nil {
		return aws.Credentials{}, err
	}
	resp, err := r.client.Do(req)
	if err != nil {
		return aws.Credentials{}, fmt.Errorf("instance profile %s: %w", r.profile, err)
	}
	defer resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		var e struct {
			Type    string `json:"__type"`
			Message string `json:"message"`
		}
		json.NewDecoder(resp.Body).Decode(&e)
		return aws.Credentials{}, &smithy.GenericAPIError{Code: e.Type,
			Message: fmt.Sprintf("credentials of instance profile %s: %s", r.profile, e.Message)}
	}
	var m metadataCredentials
	if err := json.NewDecoder(resp.Body).Decode(&m); err != nil || m.Code != "Success" {
		return aws.Credentials{}, fmt.Errorf("instance profile %s: bad credentials response (%v)", r.profile, err)
	}
	return aws.Credentials{AccessKeyID: m.AccessKeyId, SecretAccessKey: m.SecretAccessKey, SessionToken: m.Token,
		Source: "InstanceProfile", CanExpire: true, Expires: m.Expiration}, nil
}

// roleCredentials wraps provider in a cache that renews credentials a
// quarter of an hour before they expire (the SDKs' own margin is smaller).
func roleCredentials(p aws.CredentialsProvider) aws.CredentialsProvider {
	return aws.NewCredentialsCache(p, func(o *aws.CredentialsCacheOptions) {
		o.ExpiryWindow = 15 * time.Minute
		o.ExpiryWindowJitterFrac = 0.5
	})
}
