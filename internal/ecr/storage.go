package ecr

import (
	"cmp"
	"context"
	"errors"
	"fmt"
	"net/url"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"time"

	storagedriver "github.com/distribution/distribution/v3/registry/storage/driver"
	_ "github.com/distribution/distribution/v3/registry/storage/driver/filesystem" // the default content store
	_ "github.com/distribution/distribution/v3/registry/storage/driver/s3-aws"     // content shared by several servers
)

// Storage says where the registry keeps image content: blobs, manifests,
// tags and in-progress uploads. The zero value is the filesystem under the
// data dir, private to one server; servers that share etcd share images
// only when they name the same S3 bucket.
type Storage struct {
	// S3 is the bucket holding the content, or nil for the filesystem.
	S3 *S3Storage
}

// S3Storage is a bucket of Amazon S3 or of an S3-compatible service.
// Credentials come from the AWS SDK's usual chain: AWS_ACCESS_KEY_ID and
// AWS_SECRET_ACCESS_KEY, AWS_PROFILE and ~/.aws/credentials, or the
// instance role.
type S3Storage struct {
	Bucket string
	// Prefix is the key prefix of the registry's tree; empty for the bucket root.
	Prefix string
	// Region is the bucket's region; empty takes AWS_REGION,
	// AWS_DEFAULT_REGION, then us-east-1.
	Region string
	// Endpoint is the URL of an S3-compatible service; empty for Amazon S3.
	Endpoint string
	// ForcePathStyle addresses the bucket in the path (endpoint/bucket/key)
	// rather than the host name, as most S3-compatible services need.
	ForcePathStyle bool
}

// storageUsage is the form of a --registry-storage value, for errors.
const storageUsage = "s3://BUCKET[/PREFIX][?region=R&endpoint=URL&forcepathstyle=true]"

// ParseStorage reads a --registry-storage value: empty for the filesystem
// under the data dir, or s3://BUCKET[/PREFIX] with optional query
// parameters region, endpoint (http or https URL of an S3-compatible
// service) and forcepathstyle (true or false).
func ParseStorage(s string) (Storage, error) {
	if s == "" {
		return Storage{}, nil
	}
	u, err := url.Parse(s)
	if err != nil {
		return Storage{}, fmt.Errorf("registry storage %q: %w; want %s", s, err, storageUsage)
	}
	if u.Scheme != "s3" {
		return Storage{}, fmt.Errorf("registry storage %q: unsupported scheme %q; want %s, or nothing for the data dir", s, u.Scheme, storageUsage)
	}
	if u.Host == "" {
		return Storage{}, fmt.Errorf("registry storage %q: no bucket; want %s", s, storageUsage)
	}
	if u.User != nil {
		return Storage{}, fmt.Errorf("registry storage %q: credentials do not belong in the URL; set AWS_ACCESS_KEY_ID and AWS_SECRET_ACCESS_KEY (or AWS_PROFILE)", s)
	}
	s3 := &S3Storage{Bucket: u.Host, Prefix: strings.Trim(u.Path, "/")}
	for key, vals := range u.Query() {
		val := vals[len(vals)-1]
		switch key {
		case "region":
			s3.Region = val
		case "endpoint":
			e, err := url.Parse(val)
			if err != nil || (e.Scheme != "http" && e.Scheme != "https") || e.Host == "" {
				return Storage{}, fmt.Errorf("registry storage %q: endpoint %q is not an http:// or https:// URL", s, val)
			}
			s3.Endpoint = val
		case "forcepathstyle":
			b, err := strconv.ParseBool(val)
			if err != nil {
				return Storage{}, fmt.Errorf("registry storage %q: forcepathstyle %q is not true or false", s, val)
			}
			s3.ForcePathStyle = b
		default:
			return Storage{}, fmt.Errorf("registry storage %q: unknown parameter %q; known: region, endpoint, forcepathstyle", s, key)
		}
	}
	return Storage{S3: s3}, nil
}

// String returns the value ParseStorage reads back; empty for the filesystem.
func (st Storage) String() string {
	if st.S3 == nil {
		return ""
	}
	u := url.URL{Scheme: "s3", Host: st.S3.Bucket, Path: "/" + st.S3.Prefix}
	q := url.Values{}
	if st.S3.Region != "" {
		q.Set("region", st.S3.Region)
	}
	if st.S3.Endpoint != "" {
		q.Set("endpoint", st.S3.Endpoint)
	}
	if st.S3.ForcePathStyle {
		q.Set("forcepathstyle", "true")
	}
	u.RawQuery = q.Encode()
	return strings.TrimSuffix(strings.Replace(u.String(), "/?", "?", 1), "/")
}

// driver names distribution's storage driver for st and its parameters.
func (st Storage) driver(dataDir string) (string, map[string]any) {
	if st.S3 == nil {
		return "filesystem", map[string]any{"rootdirectory": filepath.Join(dataDir, "registry")}
	}
	s3 := st.S3
	params := map[string]any{
		"bucket":         s3.Bucket,
		"region":         cmp.Or(s3.Region, os.Getenv("AWS_REGION"), os.Getenv("AWS_DEFAULT_REGION"), "us-east-1"),
		"forcepathstyle": s3.ForcePathStyle,
	}
	if s3.Prefix != "" {
		params["rootdirectory"] = "/" + s3.Prefix
	}
	if s3.Endpoint != "" {
		params["regionendpoint"] = s3.Endpoint
		params["secure"] = strings.HasPrefix(s3.Endpoint, "https://")
	}
	return "s3aws", params
}

// checkStorage fails when the registry's storage cannot be read, so a
// wrong bucket, region or credentials stop the server at startup rather
// than the first push.
func checkStorage(ctx context.Context, st Storage, d storagedriver.StorageDriver) error {
	if st.S3 == nil {
		return nil
	}
	ctx, cancel := context.WithTimeout(ctx, 30*time.Second)
	defer cancel()
	_, err := d.List(ctx, "/")
	if err == nil || errors.As(err, new(storagedriver.PathNotFoundError)) {
		return nil // an empty bucket or prefix is fine
	}
	return fmt.Errorf("registry storage %s: cannot list the bucket (check the bucket, its region and the AWS credentials): %w", st, err)
}
