// Command s3server serves an in-memory S3-compatible API with empty
// buckets, to try `berth server --registry-storage s3://...` and to
// benchmark it without an AWS account. Its content is gone when it stops.
//
// Usage:
//
//	s3server [-listen 127.0.0.1:9000] [-bucket images]...
package main

import (
	"flag"
	"log"
	"net/http"
	"strings"

	"github.com/berth-dev/berth/internal/testutil"
)

func main() {
	listen := flag.String("listen", "127.0.0.1:9000", "address to serve on")
	buckets := flag.String("bucket", "images", "comma-separated buckets to create")
	flag.Parse()
	h, err := testutil.S3Handler(strings.Split(*buckets, ",")...)
	if err != nil {
		log.Fatal(err)
	}
	log.Printf("S3 API on http://%s, buckets %s, any credentials", *listen, *buckets)
	log.Fatal(http.ListenAndServe(*listen, h))
}
