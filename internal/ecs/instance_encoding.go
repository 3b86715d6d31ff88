package ecs

import (
	"encoding/json"
	"sync"
)

// Placement rewrites an instance record for every batch of tasks it places
// there, and most of the record is the registration, which placements never
// change. encodeInstanceRecord reuses its encoding: it is made once per
// cached record and handed on to the version this process writes next.

// instanceJSON is the encoding of a cached record's registration.
type instanceJSON struct {
	once sync.Once
	b    []byte
	err  error
}

// registrationJSON returns the encoding of e's registration.
func (e *cachedInstance) registrationJSON() ([]byte, error) {
	e.enc.once.Do(func() { e.enc.b, e.enc.err = json.Marshal(&e.rec.Instance) })
	return e.enc.b, e.enc.err
}

// encodeInstanceRecord encodes rec exactly as json.Marshal would, given the
// encoding of its registration.
func encodeInstanceRecord(rec *instanceRecord, registration []byte) ([]byte, error) {
	u, err := json.Marshal(&rec.Usage)
	if err != nil {
		return nil, err
	}
	b := make([]byte, 0, len(registration)+len(u)+len(rec.ID)+len(rec.Cluster)+len(rec.RegisteredBy)+64)
	b = append(b, `{"id":`...)
	b = appendJSONString(b, rec.ID)
	b = append(b, `,"cluster":`...)
	b = appendJSONString(b, rec.Cluster)
	if rec.RegisteredBy != "" {
		b = append(b, `,"registeredBy":`...)
		b = appendJSONString(b, rec.RegisteredBy)
	}
	b = append(b, `,"instance":`...)
	b = append(b, registration...)
	b = append(b, `,"usage":`...)
	b = append(b, u...)
	return append(b, '}'), nil
}

// appendJSONString appends s quoted as encoding/json quotes it: plain
// text directly, anything that needs escaping through encoding/json.
func appendJSONString(b []byte, s string) []byte {
	for i := 0; i < len(s); i++ {
		if c := s[i]; c < 0x20 || c >= 0x7f || c == '"' || c == '\\' || c == '<' || c == '>' || c == '&' {
			q, _ := json.Marshal(s)
			return append(b, q...)
		}
	}
	b = append(b, '"')
	b = append(b, s...)
	return append(b, '"')
}
