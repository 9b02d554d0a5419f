//go:build unix

package client

// fastJSON: requests and answers that read and write their own JSON do so
// (see jsonAppender, jsonParser).
const fastJSON = true
