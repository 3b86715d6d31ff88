// Package controller runs the control plane's background loops: one
// leader election per server among the servers sharing the store, loops
// that run only on the leader (with writes fenced on its leadership), and
// loops that run on every server.
package controller
