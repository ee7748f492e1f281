//! Issue 11 item 6, the owner rule's two holes: a numbered duplicate URL that is another
//! user's canonical URL (`…CN=KBAKER-2.EML` when a user `kbaker-2` exists), and the
//! properties that say whose a message is (0x0037001F, 0x0E1D001F, `mapi/subject`,
//! 0x6849001F) set to another user's values. Against a real server with `--auth basic`, in
//! the style of `tests/auth.rs`: each refusal is a 403 naming the rule, and the store is
//! left exactly as it was.

use schedplus::app::ops::{Ctx, ImportRequest, Operation};
use schedplus::auth::{AuthSettings, hash_password};
use schedplus::protocol::legacy_dn::LegacyDn;
use schedplus::store::canonical_leaf;
use schedplus::transport::webdav::path::{fb_folder_href, fb_item_href};

use crate::common::{Reply, TestServer, basic};

const DAN: &str = "/o=First Organization/ou=First Administrative Group/cn=Recipients/cn=dwinship";
const KAREN: &str = "/o=First Organization/ou=First Administrative Group/cn=Recipients/cn=kbaker";
const KAREN2: &str =
    "/o=First Organization/ou=First Administrative Group/cn=Recipients/cn=kbaker-2";

/// The demo directory plus `kbaker-2`; kbaker, kbaker-2 and dwinship have the password
/// `pw-ALIAS`.
fn lab() -> TestServer {
    let srv = TestServer::start_with(|o| o.auth = AuthSettings::default());
    srv.import_demo_directory();
    ImportRequest {
        text: format!(
            "DN,objectClass,sAMAccountName,displayName,mail,mailNickname,legacyExchangeDN,proxyAddresses\n\
             \"CN=Karen Baker 2,CN=Users,DC=xcs,DC=example\",user,kbaker-2,Karen Baker 2,kbaker2@xcs.example,kbaker-2,{KAREN2},SMTP:kbaker2@xcs.example\n"
        ),
        format: Some("csv".into()),
        source: "test".into(),
        ..Default::default()
    }
    .run(&Ctx::new(srv.store()))
    .unwrap();
    for alias in ["kbaker", "kbaker-2", "dwinship"] {
        let u = srv.store().resolve_user(alias).unwrap();
        let hash = hash_password(&format!("pw-{alias}")).unwrap();
        srv.store()
            .update_credential(&u.legacy_dn, |c| c.password_hash = Some(hash))
            .unwrap();
    }
    srv
}

fn folder() -> String {
    fb_folder_href(&LegacyDn::parse(KAREN).unwrap().admin_group())
}

fn url_of(dn: &str) -> String {
    let dn = LegacyDn::parse(dn).unwrap();
    fb_item_href(&dn.admin_group(), &canonical_leaf(&dn.subject()))
}

fn url_at(leaf: &str) -> String {
    fb_item_href(&LegacyDn::parse(KAREN).unwrap().admin_group(), leaf)
}

fn patch(srv: &TestServer, url: &str, who: &str, props: &str) -> Reply {
    let body = format!(
        r#"<?xml version="1.0"?><a:propertyupdate xmlns:a="DAV:" xmlns:d="http://schemas.microsoft.com/mapi/proptag/" xmlns:m="http://schemas.microsoft.com/mapi/"><a:set><a:prop>{props}</a:prop></a:set></a:propertyupdate>"#
    );
    let auth = basic(who, &format!("pw-{who}"));
    srv.proppatch_as(url, Some(&auth), body.as_bytes())
}

fn assert_owner_refusal(r: &Reply) {
    assert_eq!(r.status, 403, "{}", r.text());
    assert_eq!(
        r.header("x-schedplus-rule"),
        Some("owner-or-admin"),
        "{}",
        r.text()
    );
    assert!(r.text().contains("owner-or-admin"), "{}", r.text());
}

const OWN_SUBJECT: &str = "<d:x0E1D001F>USER-/CN=RECIPIENTS/CN=KBAKER</d:x0E1D001F>";

/// kbaker may not take `…CN=KBAKER-2.EML`, the canonical URL of the user kbaker-2, even
/// with her own subject in it; a numbered duplicate nobody else owns stays hers.
#[test]
fn a_numbered_duplicate_url_that_is_another_users_canonical_url_is_refused() {
    let srv = lab();
    let before = srv.store().dump_digest().unwrap();
    let squat = url_at("USER-/CN=RECIPIENTS/CN=KBAKER-2.EML");
    assert_eq!(squat, url_of(KAREN2));
    assert_owner_refusal(&patch(&srv, &squat, "kbaker", OWN_SUBJECT));
    // Any case of the URL.
    assert_owner_refusal(&patch(
        &srv,
        &url_at("user-/cn=recipients/cn=kbaker-2.eml"),
        "kbaker",
        OWN_SUBJECT,
    ));
    assert_eq!(
        srv.store().dump_digest().unwrap(),
        before,
        "nothing written"
    );

    // kbaker-2 publishes to it.
    let r = patch(
        &srv,
        &squat,
        "kbaker-2",
        "<d:x0E1D001F>USER-/CN=RECIPIENTS/CN=KBAKER-2</d:x0E1D001F>",
    );
    assert_eq!(r.status, 200, "{}", r.text());
    // A numbered duplicate that is nobody's canonical URL is still kbaker's.
    let r = patch(
        &srv,
        &url_at("USER-/CN=RECIPIENTS/CN=KBAKER-3.EML"),
        "kbaker",
        OWN_SUBJECT,
    );
    assert_eq!(r.status, 200, "{}", r.text());
}

/// kbaker may not make her own message look like dwinship's: every property naming an
/// owner must name her. Her own values (any case) are fine.
#[test]
fn owner_properties_must_name_the_writer() {
    let srv = lab();
    let karen = url_of(KAREN);
    let r = patch(&srv, &karen, "kbaker", OWN_SUBJECT);
    assert_eq!(r.status, 200, "{}", r.text());
    let before = srv.store().dump_digest().unwrap();
    for props in [
        format!("{OWN_SUBJECT}<d:x0037001F>USER-/CN=RECIPIENTS/CN=DWINSHIP</d:x0037001F>"),
        format!("{OWN_SUBJECT}<d:x6849001F>{DAN}</d:x6849001F>"),
        format!("{OWN_SUBJECT}<d:x6849001E>{DAN}</d:x6849001E>"),
        format!("{OWN_SUBJECT}<m:subject>USER-/CN=RECIPIENTS/CN=DWINSHIP</m:subject>"),
        "<d:x0037001F>USER-/CN=RECIPIENTS/CN=DWINSHIP</d:x0037001F>".to_string(),
        // The right alias in another organisation is someone else too.
        format!(
            "{OWN_SUBJECT}<d:x6849001F>/o=CompanyABC/ou=Paris/cn=Recipients/cn=kbaker</d:x6849001F>"
        ),
    ] {
        let r = patch(&srv, &karen, "kbaker", &props);
        assert_owner_refusal(&r);
        assert!(
            r.text().contains("DWINSHIP")
                || r.text().contains("dwinship")
                || r.text().contains("CompanyABC"),
            "the refusal names the value: {}",
            r.text()
        );
    }
    assert_eq!(
        srv.store().dump_digest().unwrap(),
        before,
        "nothing written"
    );

    // SEARCH by dwinship's legacyDN finds nothing of hers.
    let sql = format!(
        r#"<D:searchrequest xmlns:D="DAV:"><D:sql>SELECT "DAV:displayname" FROM "{}" WHERE "http://schemas.microsoft.com/mapi/proptag/x6849001F" = '{DAN}'</D:sql></D:searchrequest>"#,
        folder()
    );
    let r = srv.request("SEARCH", &folder(), &[], Some(sql.as_bytes()));
    assert_eq!(r.status, 207);
    assert!(!r.text().contains("KBAKER"), "{}", r.text());

    let own = format!(
        "{OWN_SUBJECT}<d:x0037001F>user-/cn=recipients/cn=kbaker</d:x0037001F><m:subject>USER-/CN=RECIPIENTS/CN=KBAKER</m:subject><d:x6849001F>{}</d:x6849001F>",
        KAREN.to_uppercase()
    );
    let r = patch(&srv, &karen, "kbaker", &own);
    assert_eq!(r.status, 200, "{}", r.text());
}
