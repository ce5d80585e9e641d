package syncv1

// The parts of the sync contract the messages above do not carry: where an
// error's machine-readable reason travels, and the reasons a client acts
// on. Written once here (by hand, beside the generated code) and imported
// by the server (server/social, server/rpc) and the client, so neither side
// spells them on its own.

// ReasonKey is the Connect metadata key (a trailer, or a header of an
// error answered before the body) carrying an error's machine-readable
// reason: the REST API's "code", e.g. "already_connected".
const ReasonKey = "vibesync-reason"

// Reasons of sync errors and rejected mutations a client acts on.
const (
	// ReasonProtocolVersionUnsupported (FAILED_PRECONDITION): the request's
	// protocol_version is not the server's; upgrade the client (and reset
	// its replica) or set the version.
	ReasonProtocolVersionUnsupported = "protocol_version_unsupported"
	// ReasonPullRestart (ABORTED): the feed was compacted during a paged
	// pull; start the pull again from the cursor.
	ReasonPullRestart = "pull_restart"
	// ReasonBucketsDigestMismatch (ABORTED): a pull named its
	// held buckets by a digest that is not the digest of the buckets the
	// caller may read now; send the bucket names.
	ReasonBucketsDigestMismatch = "buckets_digest_mismatch"
	// ReasonTokenRevoked (UNAUTHENTICATED): the login session of the
	// request, or of an open Subscribe stream, has ended; log in again.
	ReasonTokenRevoked = "token_revoked"
	// ReasonAccountDeleted (UNAUTHENTICATED, also the REST code of the
	// 401): the account was deleted. Wipe the replica; queued mutations
	// are rejected, never applied.
	ReasonAccountDeleted = "account_deleted"
	// ReasonMutationIDReused (a rejected mutation, code "conflict"): the
	// client id already used this mutation id for other content (its data
	// folder was restored or copied). Push it, and those behind it, again
	// under a new client id.
	ReasonMutationIDReused = "mutation_id_reused"
	// ReasonMutationOutOfOrder (a rejected mutation, code "conflict"): the
	// id is not above the client's last processed one and has no recorded
	// outcome; it was not run.
	ReasonMutationOutOfOrder = "mutation_out_of_order"
	// ReasonMutationEmpty (a rejected mutation, code "invalid"): the
	// mutation has no kind set.
	ReasonMutationEmpty = "mutation_empty"
	// ReasonMutationUnimplemented (a rejected mutation, code
	// CodeUnimplemented): this server does not run this kind.
	ReasonMutationUnimplemented = "mutation_unimplemented"
	// ReasonMutationTooLarge (a rejection the client records itself, code
	// "too_large"): a push holding only this mutation was larger than the
	// server reads (RESOURCE_EXHAUSTED); it can never be delivered as it is.
	ReasonMutationTooLarge = "mutation_too_large"
	// ReasonConnectionAccepted (a rejected delete_connection that expected
	// a pending request, code "conflict"): the request was accepted before
	// the cancel arrived; the connection stays.
	ReasonConnectionAccepted = "connection_accepted"
	// ReasonMutationRefused (a rejection the client records itself, code
	// "invalid"): the server refused a push holding only this mutation as
	// a whole (INVALID_ARGUMENT) without running it.
	ReasonMutationRefused = "mutation_refused"
	// ReasonIDTaken (a rejected creation, code "conflict"): the id the
	// client proposed for what it created (chat_id, connection_id,
	// request_id, reel_id) is used by something else; it was not renamed.
	// The client's later mutations naming the id fail too.
	ReasonIDTaken = "id_taken"
)

// CodeUnimplemented is the MutationResult code of a mutation kind the
// server does not run (the other codes are the error classes: "invalid",
// "forbidden", "not_found", "conflict", …).
const CodeUnimplemented = "unimplemented"
