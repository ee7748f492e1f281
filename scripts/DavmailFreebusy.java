// DavMail's own Exchange 2003 free/busy lookup, driven against a schedplus server.
//
// DavExchangeSession is DavMail's WebDAV (Exchange 2003) session. Its constructor calls
// buildSessionInfo(uri), which on a real server reads the mailbox welcome page and the
// well-known folders, and then, in checkPublicFolder(), finds the public folders with a
// PROPFIND Depth 0 of /public/. schedplus has no mailboxes, so this harness overrides
// buildSessionInfo to run only that public-folder step. Everything after it is DavMail's own
// code, unchanged: ExchangeSession.getFreebusy validates the attendee and formats the dates,
// DavExchangeSession.getFreeBusyData sends GET <publicFolderUrl>/?cmd=freebusy&...&u=SMTP:...
// through DavMail's HttpClientAdapter and cuts the last <a:fbdata>, and FreeBusy turns the
// digits into iCalendar FREEBUSY periods (and drops an attendee whose answer holds a 4).
//
// Usage: java -cp davmail.jar:. DavmailFreebusy BASE_URL ATTENDEE START END
//   BASE_URL like http://127.0.0.1:8080/, START/END as iCalendar UTC (20080202T000000Z).
// Prints "publicFolderUrl <url>", then each "FREEBUSY;FBTYPE=…:…" line sorted, or
// "UNKNOWN ATTENDEE" when DavMail found no usable free/busy; exits 0, or 1 on an error.

import java.net.URI;
import java.util.Arrays;

import davmail.exchange.ExchangeSession;
import davmail.exchange.dav.DavExchangeSession;
import davmail.http.HttpClientAdapter;

public class DavmailFreebusy {
    static final class PublicFolderOnlySession extends DavExchangeSession {
        PublicFolderOnlySession(HttpClientAdapter adapter, URI uri, String user) throws java.io.IOException {
            super(adapter, uri, user);
        }

        @Override
        public void buildSessionInfo(URI uri) {
            checkPublicFolder();
        }

        String publicFolder() {
            return publicFolderUrl;
        }
    }

    public static void main(String[] args) throws Exception {
        if (args.length != 4) {
            System.err.println("usage: DavmailFreebusy BASE_URL ATTENDEE START END");
            System.exit(2);
        }
        URI base = new URI(args[0]);
        try (HttpClientAdapter adapter = new HttpClientAdapter(base, "davmail", "davmail")) {
            PublicFolderOnlySession session = new PublicFolderOnlySession(adapter, base, "davmail");
            System.out.println("publicFolderUrl " + session.publicFolder());
            ExchangeSession.FreeBusy fb = session.getFreebusy(args[1], args[2], args[3]);
            if (fb == null) {
                System.out.println("UNKNOWN ATTENDEE");
                return;
            }
            StringBuilder out = new StringBuilder();
            fb.appendTo(out);
            String[] lines = out.toString().split("\r\n");
            Arrays.sort(lines);
            for (String line : lines) {
                if (!line.isEmpty()) {
                    System.out.println(line);
                }
            }
        }
    }
}
