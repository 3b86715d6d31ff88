package ecs

import (
	"encoding/json"
	"slices"
	"strconv"
	"sync"
)

// Placement rewrites an instance record for every task it places there,
// and encoding the record with encoding/json was a large share of a
// placement's cost. encodeInstanceRecord writes the same bytes by hand:
// the registration, which placements never change, is encoded once per
// cached record and handed on to the version this process writes next;
// the reservations are appended without reflection.

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
func encodeInstanceRecord(rec *instanceRecord, registration []byte) []byte {
	ids := make([]string, 0, len(rec.Tasks))
	for id := range rec.Tasks {
		ids = append(ids, id)
	}
	slices.Sort(ids) // encoding/json sorts map keys
	b := make([]byte, 0, len(registration)+64+len(ids)*120)
	b = append(b, `{"id":`...)
	b = appendJSONString(b, rec.ID)
	b = append(b, `,"cluster":`...)
	b = appendJSONString(b, rec.Cluster)
	b = append(b, `,"instance":`...)
	b = append(b, registration...)
	b = append(b, `,"tasks":`...)
	if rec.Tasks == nil {
		b = append(b, "null"...)
	} else {
		b = append(b, '{')
		for i, id := range ids {
			if i > 0 {
				b = append(b, ',')
			}
			b = appendJSONString(b, id)
			b = append(b, ':')
			b = appendReservation(b, rec.Tasks[id])
		}
		b = append(b, '}')
	}
	return append(b, '}')
}

// appendReservation appends r as encoding/json encodes a reservation.
func appendReservation(b []byte, r reservation) []byte {
	b = append(b, `{"cpu":`...)
	b = strconv.AppendInt(b, int64(r.CPU), 10)
	b = append(b, `,"memory":`...)
	b = strconv.AppendInt(b, int64(r.Memory), 10)
	b = appendPorts(b, `,"ports":`, r.Ports)
	b = appendPorts(b, `,"portsUdp":`, r.PortsUDP)
	b = append(b, `,"status":`...)
	b = appendJSONString(b, r.Status)
	if r.Group != "" {
		b = append(b, `,"group":`...)
		b = appendJSONString(b, r.Group)
	}
	return append(b, '}')
}

func appendPorts(b []byte, field string, ports []int) []byte {
	if len(ports) == 0 {
		return b // omitempty
	}
	b = append(b, field...)
	for i, p := range ports {
		if i == 0 {
			b = append(b, '[')
		} else {
			b = append(b, ',')
		}
		b = strconv.AppendInt(b, int64(p), 10)
	}
	return append(b, ']')
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
