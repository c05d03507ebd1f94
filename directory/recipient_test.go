package directory

import "testing"

func TestCloudMailboxFromRecipientType(t *testing.T) {
	for _, c := range []struct {
		details     int64
		cloud, know bool
	}{
		{0, false, false},
		{RecipientUserMailbox, false, true},
		{RecipientRoomMailbox, false, true},
		{RecipientRemoteUserMailbox, true, true}, // 2147483648: moved to Exchange Online
		{RecipientRemoteSharedMailbox, true, true},
		{128, false, false}, // MailUser: no mailbox here, no word on where
	} {
		cloud, known := User{RecipientTypeDetails: c.details}.CloudMailbox()
		if cloud != c.cloud || known != c.know {
			t.Errorf("CloudMailbox(%d) = %v, %v; want %v, %v", c.details, cloud, known, c.cloud, c.know)
		}
	}
}
