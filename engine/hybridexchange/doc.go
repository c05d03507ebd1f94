// Package hybridexchange serves a hybrid Exchange organisation: it
// implements the engine's Exchange interface over two of them, Exchange
// Server through EWS (engine/ewsexchange) and Exchange Cloud through
// Microsoft Graph (engine/graphexchange), and sends each mailbox's calls
// to the side that hosts it.
//
// Where a mailbox lives is decided, in this order, by the decision kept
// from earlier (a store document, so a restart does not look again), by the
// directory (msExchRecipientTypeDetails: RemoteUserMailbox lives in the
// cloud, UserMailbox on premises), and otherwise by asking: Graph's
// mailboxSettings (served, or MailboxNotEnabledForRESTAPI), EWS Autodiscover
// and GetUserOofSettings (served, ErrorNonExistentMailbox for a
// RemoteUserMailbox, ErrorMailboxMoveInProgress during a move).
//
// A mailbox that stops answering on its side (ErrorNonExistentMailbox on
// EWS, MailboxNotEnabledForRESTAPI on Graph) is reported to the engine as
// MailboxMoved: the engine looks it up again (Discover), which asks
// both sides, and the new side's routing makes the engine drop the old
// subscription, subscribe on the new side and read the window in full
// (item ids do not survive a cross-premises move; the engine never keeps
// them anyway). A mailbox neither side serves is HybridMailboxNotFound, a
// per-mailbox error the engine marks denied and retries slowly.
//
// Graph has no streaming notifications. In the engine's streaming mode a
// cloud mailbox's "stream" is a delta poll every PollInterval that
// reports changes as notifications and beats like EWS does, so EWS
// mailboxes stream and cloud mailboxes poll in one engine.
package hybridexchange
