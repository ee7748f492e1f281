//! Rules of both formats, on hand-written exports shaped like csvde and ldifde output, on the
//! samples under `tests/data/directory/` and on the demo fixtures.

use proptest::prelude::*;

use super::*;

const CSVDE_EXPORT: &str = include_str!("../../../tests/data/directory/csvde-export.csv");
const LDIFDE_EXPORT: &str = include_str!("../../../tests/data/directory/ldifde-export.ldif");
const BAD_ROWS_CSV: &str = include_str!("../../../tests/data/directory/bad-rows.csv");
const BAD_RECORDS_LDIF: &str = include_str!("../../../tests/data/directory/bad-records.ldif");
const DEMO_CSV: &str = include_str!("../../../fixtures/demo/directory.csv");
const DEMO_LDIF: &str = include_str!("../../../fixtures/demo/directory.ldif");

fn csv_ok(text: &str) -> Vec<DirectoryEntry> {
    parse_directory(text, DirectoryFormat::Csv).unwrap_or_else(|e| panic!("{e}"))
}

fn ldif_ok(text: &str) -> Vec<DirectoryEntry> {
    parse_directory(text, DirectoryFormat::Ldif).unwrap_or_else(|e| panic!("{e}"))
}

fn csv_err(text: &str) -> Vec<LineProblem> {
    parse_directory(text, DirectoryFormat::Csv)
        .expect_err("the file should be refused")
        .problems
}

fn ldif_err(text: &str) -> Vec<LineProblem> {
    parse_directory(text, DirectoryFormat::Ldif)
        .expect_err("the file should be refused")
        .problems
}

/// The problems, one for each of `want` in order: on its line, mentioning each of its words.
fn problems_are(problems: &[LineProblem], want: &[(usize, &[&str])]) {
    assert_eq!(problems.len(), want.len(), "{problems:#?}");
    for (problem, (line, words)) in problems.iter().zip(want) {
        assert_eq!(problem.line, *line, "{problems:#?}");
        for w in *words {
            assert!(
                problem.reason.contains(w),
                "{:?} does not mention {w:?}",
                problem.reason
            );
        }
    }
}

/// The one problem, which must be on `line` and mention every one of `words`.
fn only_problem(problems: &[LineProblem], line: usize, words: &[&str]) {
    problems_are(problems, &[(line, words)]);
}

const HEADER: &str = "mail,legacyExchangeDN,displayName\n";

// ---------------------------------------------------------------------------------------
// CSV

#[test]
fn csvde_export_gives_its_users_and_skips_everything_else() {
    let parsed = parse_directory_detailed(CSVDE_EXPORT, DirectoryFormat::Csv).unwrap();
    // domainDNS, container, Administrator (no mailbox), computer, mail-enabled group.
    assert_eq!(parsed.skipped, 5);
    let e = &parsed.entries;
    assert_eq!(e.len(), 3);

    assert_eq!(e[0].mail, "danw@lab.example");
    assert_eq!(
        e[0].legacy_dn.as_str(),
        "/o=Lab Org/ou=First Administrative Group/cn=Recipients/cn=dwinship"
    );
    assert_eq!(e[0].display_name, "Dan Winship");
    assert_eq!(e[0].alias, "dwinship");
    assert_eq!(
        e[0].proxy_addresses,
        [
            "SMTP:danw@lab.example",
            "smtp:dan.winship@lab.example",
            "X400:c=US;a= ;p=Lab Org;o=Exchange;s=Winship;g=Dan;"
        ]
    );
    assert_eq!(e[0].line, 6);

    assert_eq!(e[1].display_name, "Jean-Sébastien Guillet");
    assert_eq!(e[1].alias, "jsguillet", "empty mailNickname → last cn");
    assert_eq!(
        e[1].proxy_addresses[1],
        "X500:/o=Lab Org/ou=Old Site/cn=Recipients/cn=JSGUILLET"
    );
    assert_eq!(e[1].line, 7);

    assert_eq!(e[2].display_name, "O'Brien, Kate \"KB\"");
    assert_eq!(e[2].legacy_dn.last_cn(), "kobrien");
    assert!(e[2].proxy_addresses.is_empty());
    assert_eq!(e[2].line, 9);
}

#[test]
fn csv_header_names_ignore_case_and_spaces_and_extra_columns() {
    let text = " LEGACYEXCHANGEDN ,objectGUID, Mail,DisplayName ,MAILNICKNAME,PROXYADDRESSES\n\
                /o=O/ou=AG/cn=Recipients/cn=a,x,a@x.example,A,alias-a,smtp:a2@x.example\n";
    let e = csv_ok(text);
    assert_eq!(e[0].mail, "a@x.example");
    assert_eq!(e[0].alias, "alias-a");
    assert_eq!(e[0].proxy_addresses, ["smtp:a2@x.example"]);
}

#[test]
fn csv_with_bom_and_crlf() {
    let text = "\u{feff}mail,legacyExchangeDN,displayName\r\n\
                a@x.example,/o=O/ou=AG/cn=Recipients/cn=a,A\r\n\
                \r\n\
                b@x.example,/o=O/ou=AG/cn=Recipients/cn=b,B\r\n";
    let e = csv_ok(text);
    assert_eq!(e.len(), 2);
    assert_eq!((e[0].line, e[1].line), (2, 4));
    assert_eq!(e[1].display_name, "B", "no stray \\r");
}

#[test]
fn csv_alias_falls_back_to_the_last_cn_of_a_deep_dn() {
    let text = format!(
        "{HEADER}a@x.example,/o=O/ou=AG/cn=Recipients/cn=Users/cn=deep,A\n\
         b@x.example,/o=O/ou=AG/cn=Recipients/cn=b,B\n"
    );
    let e = csv_ok(&text);
    assert_eq!(e[0].alias, "deep");
    assert_eq!(e[1].alias, "b");
}

#[test]
fn csv_missing_required_columns_is_one_problem_on_the_header() {
    let problems = csv_err("DN,objectClass,Mail,sAMAccountName\nx,user,a@x.example,a\n");
    only_problem(
        &problems,
        1,
        &[
            "legacyExchangeDN, displayName",
            "DN, objectClass, Mail, sAMAccountName",
        ],
    );
}

#[test]
fn csv_header_after_comments_is_reported_on_its_own_line() {
    let problems = csv_err("# exported for the lab\n\nmail,displayName\n");
    only_problem(&problems, 3, &["legacyExchangeDN"]);
}

#[test]
fn csv_column_named_twice_is_refused() {
    let problems = csv_err("mail,legacyExchangeDN,displayName,MAIL\n");
    only_problem(&problems, 1, &["'mail' more than once"]);
}

#[test]
fn csv_empty_required_values_are_problems() {
    let text = format!(
        "{HEADER}a@x.example,/o=O/ou=AG/cn=Recipients/cn=a,\n\
         ,/o=O/ou=AG/cn=Recipients/cn=b,B\n\
         c@x.example,  ,C\n"
    );
    problems_are(
        &csv_err(&text),
        &[
            (2, &["displayName is empty"]),
            (
                3,
                &["mail is empty", "needs both mail and legacyExchangeDN"],
            ),
            (4, &["legacyExchangeDN is empty"]),
        ],
    );
}

#[test]
fn csv_rows_with_neither_mail_nor_dn_are_skipped_and_counted() {
    let text = format!(
        "{HEADER},,Some Container\n\
         a@x.example,/o=O/ou=AG/cn=Recipients/cn=a,A\n\
         ,,\n"
    );
    let parsed = parse_directory_detailed(&text, DirectoryFormat::Csv).unwrap();
    assert_eq!(parsed.entries.len(), 1);
    // `,,` holds nothing at all: a blank row, not an object, so not counted.
    assert_eq!(parsed.skipped, 1);
}

#[test]
fn csv_non_person_object_class_is_skipped_even_with_mail_and_dn() {
    let text = "objectClass,mail,legacyExchangeDN,displayName\n\
                group,g@x.example,/o=O/ou=AG/cn=Recipients/cn=g,G\n\
                publicFolder,pf@x.example,/o=O/ou=AG/cn=Recipients/cn=pf,PF\n\
                User,a@x.example,/o=O/ou=AG/cn=Recipients/cn=a,A\n\
                contact,c@x.example,/o=O/ou=AG/cn=Recipients/cn=c,C\n";
    let parsed = parse_directory_detailed(text, DirectoryFormat::Csv).unwrap();
    assert_eq!(parsed.skipped, 2);
    let aliases: Vec<&str> = parsed.entries.iter().map(|e| e.alias.as_str()).collect();
    assert_eq!(aliases, ["a", "c"]);
}

#[test]
fn csv_quoted_newlines_keep_record_lines_right() {
    let text = "DN,mail,legacyExchangeDN,displayName\n\
                \"CN=Two\nLines,DC=x\",a@x.example,/o=O/ou=AG/cn=Recipients/cn=a,\"Smith, Ann\"\n\
                \"CN=B\",b@x.example,/o=O/ou=AG/cn=Recipients/cn=b,\n\
                \"CN=C\",c@x.example,/o=O/ou=AG/cn=Recipients/cn=c,\"Three\n\nLines\"\n";
    let problems = csv_err(text);
    assert_eq!(problems.len(), 2, "{problems:#?}");
    assert_eq!(problems[0].line, 4);
    assert!(problems[0].reason.contains("displayName is empty"));
    assert_eq!(problems[1].line, 5);
    assert!(
        problems[1]
            .reason
            .contains("displayName 'Three\\n\\nLines' contains control characters"),
        "control characters are shown escaped: {}",
        problems[1].reason
    );
    let good = "DN,mail,legacyExchangeDN,displayName\n\
                \"CN=Two\nLines,DC=x\",a@x.example,/o=O/ou=AG/cn=Recipients/cn=a,\"Smith, Ann\"\n\
                \"CN=B\",b@x.example,/o=O/ou=AG/cn=Recipients/cn=b,B\n";
    let e = csv_ok(good);
    assert_eq!((e[0].line, e[1].line), (2, 4));
    assert_eq!(e[0].display_name, "Smith, Ann");
}

#[test]
fn csv_row_with_the_wrong_number_of_fields_is_a_problem() {
    let text = format!(
        "{HEADER}a@x.example,/o=O/ou=AG/cn=Recipients/cn=a\n\
         b@x.example,/o=O/ou=AG/cn=Recipients/cn=b,B,extra\n"
    );
    let problems = csv_err(&text);
    assert_eq!(problems.len(), 2);
    assert!(problems[0].reason.contains("2 fields but the header has 3"));
    assert!(problems[1].reason.contains("4 fields but the header has 3"));
}

#[test]
fn csv_comments_and_blank_lines_between_rows() {
    let text = format!(
        "# lab users\n{HEADER}\n# Paris\na@x.example,/o=O/ou=AG/cn=Recipients/cn=a,A\n   \n\
         b@x.example,/o=O/ou=AG/cn=Recipients/cn=b,B\n"
    );
    let e = csv_ok(&text);
    assert_eq!((e[0].line, e[1].line), (5, 7));
}

#[test]
fn csv_values_over_64_kib_are_problems_only_in_columns_we_read() {
    let big = "x".repeat(MAX_VALUE_BYTES + 1);
    let text = format!(
        "member,mail,legacyExchangeDN,displayName\n\
         {big},a@x.example,/o=O/ou=AG/cn=Recipients/cn=a,A\n\
         ,b@x.example,/o=O/ou=AG/cn=Recipients/cn=b,{big}\n"
    );
    let problems = csv_err(&text);
    only_problem(&problems, 3, &["displayName value is longer than 64 KiB"]);
    assert!(problems[0].reason.len() < 200);
}

#[test]
fn csv_proxy_addresses_split_on_semicolons() {
    let text = "mail,legacyExchangeDN,displayName,proxyAddresses\n\
                a@x.example,/o=O/ou=AG/cn=Recipients/cn=a,A,SMTP:a@x.example;;smtp:A.Alt@x.example; ;X500:/o=Old/ou=S/cn=Recipients/cn=a;\n";
    let e = csv_ok(text);
    assert_eq!(
        e[0].proxy_addresses,
        [
            "SMTP:a@x.example",
            "smtp:A.Alt@x.example",
            "X500:/o=Old/ou=S/cn=Recipients/cn=a"
        ]
    );
    assert_eq!(e[0].smtp_addresses(), ["a@x.example", "A.Alt@x.example"]);
}

#[test]
fn bad_rows_sample_lists_every_bad_row_and_imports_nothing() {
    let err = parse_directory(BAD_ROWS_CSV, DirectoryFormat::Csv).unwrap_err();
    let lines: Vec<usize> = err.problems.iter().map(|p| p.line).collect();
    assert_eq!(lines, [3, 4, 5, 6, 8, 9, 10, 11], "{err}");
    let reason = |line| &err.problems.iter().find(|p| p.line == line).unwrap().reason;
    assert_eq!(
        reason(3),
        "legacyExchangeDN '/ou=AG/cn=Recipients/cn=baddn' is not a legacyExchangeDN: it must \
         start with /o="
    );
    assert!(reason(4).contains("mail is empty"));
    assert!(reason(5).contains("mail 'not-an-address' is not an SMTP address: it has no @"));
    assert!(reason(6).contains("displayName is empty"));
    assert_eq!(
        reason(8),
        "mail 'GOOD@lab.example' is already used by the record on line 2"
    );
    assert!(reason(9).contains("mailNickname 'spaced alias'"));
    assert!(reason(9).contains("proxyAddresses value 'smtp:' has an empty address"));
    assert!(reason(10).contains("proxyAddresses value 'bogus' has no address type"));
    assert!(reason(10).contains("proxyAddresses value 'smtp:no-at-sign' is not an SMTP address"));
    assert!(reason(11).contains("3 fields but the header has 7"));
    let shown = err.to_string();
    assert!(shown.starts_with("8 problems; nothing was imported:\n  line 3: "));
}

// ---------------------------------------------------------------------------------------
// LDIF

#[test]
fn ldifde_export_gives_its_users_and_skips_everything_else() {
    assert_eq!(detect_format(LDIFDE_EXPORT), DirectoryFormat::Ldif);
    assert!(
        LDIFDE_EXPORT.contains("\r\n"),
        "the sample keeps ldifde's CRLF"
    );
    let parsed = parse_directory_detailed(LDIFDE_EXPORT, DirectoryFormat::Ldif).unwrap();
    // domainDNS, group, computer.
    assert_eq!(parsed.skipped, 3);
    let e = &parsed.entries;
    assert_eq!(e.len(), 2);
    assert_eq!(e[0].line, 11);
    assert_eq!(
        e[0].legacy_dn.as_str(),
        "/o=Lab Org/ou=First Administrative Group/cn=Recipients/cn=dwinship",
        "folded value unfolded"
    );
    assert_eq!(e[0].alias, "dwinship");
    assert_eq!(e[0].proxy_addresses.len(), 3);
    assert_eq!(
        e[0].proxy_addresses[2],
        "X400:c=US;a= ;p=Lab Org;o=Exchange;s=Winship;g=Dan;"
    );
    assert_eq!(
        e[1].display_name, "Jean-Sébastien Guillet",
        "base64 decoded"
    );
    assert_eq!(e[1].alias, "jsguillet", "no mailNickname → last cn");
    assert_eq!(e[1].line, 31);
    assert_eq!(e[1].smtp_addresses(), ["jsguillet@lab.example"]);
}

#[test]
fn ldif_and_csv_samples_agree() {
    let from_csv = csv_ok(CSVDE_EXPORT);
    let from_ldif = ldif_ok(LDIFDE_EXPORT);
    for (c, l) in from_csv.iter().zip(&from_ldif) {
        assert_eq!(c.mail, l.mail);
        assert_eq!(c.legacy_dn, l.legacy_dn);
        assert_eq!(c.display_name, l.display_name);
    }
}

#[test]
fn ldif_attribute_names_ignore_case_and_options() {
    let text = "DN: cn=a\nMAIL: a@x.example\nlegacyexchangedn: /o=O/ou=AG/cn=Recipients/cn=a\n\
                DisplayName;lang-fr: A\nproxyAddresses;binary: smtp:b@x.example\n\
                ProxyAddresses: SMTP:a@x.example\nMailNickName: aa\n";
    let e = ldif_ok(text);
    assert_eq!(e[0].display_name, "A");
    assert_eq!(e[0].alias, "aa");
    assert_eq!(
        e[0].proxy_addresses,
        ["smtp:b@x.example", "SMTP:a@x.example"]
    );
}

#[test]
fn ldif_folded_comments_and_folded_base64() {
    let text = "# a comment that ldifde would never write\n  but RFC 2849 lets continue\n\n\
                dn: cn=a\n# comment inside a record\n  continued\nmail: a@x.examp\n le\n\
                legacyExchangeDN: /o=O/ou=AG/cn=Recip\n ients/cn=a\n\
                displayName:: SmVhbi1Tw6li\n YXN0aWVuIEd1aWxsZXQ=\n";
    let e = ldif_ok(text);
    assert_eq!(e[0].mail, "a@x.example");
    assert_eq!(e[0].display_name, "Jean-Sébastien Guillet");
    assert_eq!(e[0].line, 4);
}

#[test]
fn ldif_without_version_or_trailing_blank_line() {
    let text =
        "\n\ndn: cn=a\nmail: a@x.example\nlegacyExchangeDN: /o=O/ou=AG/cn=R/cn=a\ndisplayName: A";
    let e = ldif_ok(text);
    assert_eq!(e[0].line, 3);
    let text = "version: 1\ndn: cn=a\nmail: a@x.example\nlegacyExchangeDN: /o=O/ou=AG/cn=R/cn=a\ndisplayName: A\n";
    assert_eq!(
        ldif_ok(text)[0].line,
        2,
        "version line directly followed by a record"
    );
}

#[test]
fn ldif_unsupported_version_is_a_problem() {
    let text = "version: 2\n\ndn: cn=a\nmail: a@x.example\nlegacyExchangeDN: /o=O/ou=AG/cn=R/cn=a\ndisplayName: A\n";
    only_problem(&ldif_err(text), 1, &["version: 2", "only LDIF version 1"]);
}

#[test]
fn ldif_url_values_are_problems_only_for_attributes_we_read() {
    let ok = "dn: cn=a\njpegPhoto:< file:///c:/a.jpg\nmail: a@x.example\n\
              legacyExchangeDN: /o=O/ou=AG/cn=R/cn=a\ndisplayName: A\n";
    assert_eq!(ldif_ok(ok).len(), 1);
    let bad = "dn: cn=a\nmail:< file:///c:/mail.txt\nlegacyExchangeDN: /o=O/ou=AG/cn=R/cn=a\ndisplayName: A\n";
    only_problem(&ldif_err(bad), 2, &["mail: ", "URL", "not supported"]);
}

#[test]
fn ldif_binary_attributes_we_do_not_read_are_never_decoded() {
    let text = "dn: cn=a\nobjectSid:: AQUAAAAAAAUVAAAA/////w==\nobjectGUID:: !!not base64!!\n\
                mail: a@x.example\nlegacyExchangeDN: /o=O/ou=AG/cn=R/cn=a\ndisplayName: A\n";
    assert_eq!(ldif_ok(text).len(), 1);
}

#[test]
fn ldif_change_records_other_than_add_are_problems() {
    let text = "dn: cn=a\nchangetype: add\nmail: a@x.example\nlegacyExchangeDN: /o=O/ou=AG/cn=R/cn=a\ndisplayName: A\n\n\
                dn: cn=b\nchangetype: delete\n\n\
                dn: cn=c\nchangetype: Modify\nreplace: mail\nmail: c@x.example\n-\n";
    // On the changetype lines themselves.
    problems_are(
        &ldif_err(text),
        &[
            (8, &["'changetype: delete' records are not supported"]),
            (11, &["'changetype: Modify'"]),
        ],
    );
}

#[test]
fn ldif_structural_mistakes_are_problems() {
    let problems = ldif_err(BAD_RECORDS_LDIF);
    let lines: Vec<usize> = problems.iter().map(|p| p.line).collect();
    // A syntax problem is reported on its own line, not on the record's first line.
    assert_eq!(lines, [12, 17, 21, 25, 32, 36, 40, 45], "{problems:#?}");
    let reason = |line| &problems.iter().find(|p| p.line == line).unwrap().reason;
    assert_eq!(reason(12), "displayName: the base64 value is not valid");
    assert_eq!(
        reason(17),
        "displayName: the base64 value is not UTF-8 text"
    );
    assert!(reason(21).starts_with("legacyExchangeDN: values read from a URL"));
    assert!(reason(25).contains("changetype: modify"));
    assert_eq!(reason(32), "a second mail value (mail takes one)");
    assert!(reason(36).contains("starts with 'mail:' instead of dn:"));
    assert!(reason(40).contains("is already used by the record on line 4"));
    assert!(reason(45).contains("mail is missing"));
}

/// Issue 17 item 6: an LDIF error names one line, the one to fix ("line 12: displayName:
/// …", not "line 9: displayName on line 12: …"), even when a record has problems on two.
#[test]
fn ldif_error_message_names_one_line_per_problem() {
    let text = "dn: cn=a\nmail: a@x.example\nlegacyExchangeDN: /o=O/ou=AG/cn=R/cn=a\n\
                displayName:: ***\nmail: b@x.example\n";
    let shown = parse_directory(text, DirectoryFormat::Ldif)
        .unwrap_err()
        .to_string();
    assert_eq!(
        shown,
        "2 problems; nothing was imported:\n  \
         line 4: displayName: the base64 value is not valid\n  \
         line 5: a second mail value (mail takes one)"
    );
}

#[test]
fn ldif_missing_blank_line_between_records() {
    let text = "dn: cn=a\nmail: a@x.example\nlegacyExchangeDN: /o=O/ou=AG/cn=R/cn=a\ndisplayName: A\n\
                dn: cn=b\nmail: b@x.example\n";
    only_problem(&ldif_err(text), 5, &["a second record starts here"]);
}

#[test]
fn ldif_continuation_with_nothing_to_continue() {
    let text = "\n dangling\ndn: cn=a\n";
    only_problem(&ldif_err(text), 2, &["the line starts with a space"]);
}

#[test]
fn ldif_line_that_is_not_an_attribute() {
    let text =
        "dn: cn=a\nmail a@x.example\nlegacyExchangeDN: /o=O/ou=AG/cn=R/cn=a\ndisplayName: A\n";
    only_problem(
        &ldif_err(text),
        2,
        &["'mail a@x.example' is not an 'attribute: value' line"],
    );
}

#[test]
fn ldif_containers_and_computers_are_skipped() {
    let text = "dn: OU=Paris,DC=x\nobjectClass: top\nobjectClass: organizationalUnit\nou: Paris\n\n\
                dn: CN=PC1,DC=x\nobjectClass: computer\nobjectClass: user\n\n\
                dn: cn=a\nmail: a@x.example\nlegacyExchangeDN: /o=O/ou=AG/cn=R/cn=a\ndisplayName: A\n";
    let parsed = parse_directory_detailed(text, DirectoryFormat::Ldif).unwrap();
    assert_eq!((parsed.entries.len(), parsed.skipped), (1, 2));
}

#[test]
fn ldif_value_over_64_kib_is_a_problem() {
    let big = "a".repeat(MAX_VALUE_BYTES);
    let text = format!(
        "dn: cn=a\nmail: a@x.example\nlegacyExchangeDN: /o=O/ou=AG/cn=R/cn=a\ndisplayName: A\n {big}\n"
    );
    only_problem(
        &ldif_err(&text),
        4,
        &["displayName: the value is longer than 64 KiB"],
    );
}

#[test]
fn too_many_proxy_addresses() {
    let mut text =
        "dn: cn=a\nmail: a@x.example\nlegacyExchangeDN: /o=O/ou=AG/cn=R/cn=a\ndisplayName: A\n"
            .to_string();
    for i in 0..=MAX_PROXY_ADDRESSES {
        text.push_str(&format!("proxyAddresses: smtp:a{i}@x.example\n"));
    }
    only_problem(&ldif_err(&text), 1, &["1001 values"]);
}

// ---------------------------------------------------------------------------------------
// Rules shared by both formats

#[test]
fn duplicates_are_reported_on_the_later_record() {
    let text = format!(
        "{HEADER}a@x.example,/o=O/ou=AG/cn=Recipients/cn=a,A\n\
         A@X.EXAMPLE,/o=O/ou=AG/cn=Recipients/cn=a2,A2\n\
         b@x.example,/O=o/OU=ag/CN=RECIPIENTS/CN=A,B\n"
    );
    let problems = csv_err(&text);
    assert_eq!(problems.len(), 2);
    assert_eq!(
        problems[0],
        LineProblem {
            line: 3,
            reason: "mail 'A@X.EXAMPLE' is already used by the record on line 2".to_string()
        }
    );
    assert_eq!(problems[1].line, 4);
    assert!(
        problems[1]
            .reason
            .contains("legacyExchangeDN '/O=o/OU=ag/CN=RECIPIENTS/CN=A'")
    );
}

#[test]
fn an_smtp_proxy_that_is_another_users_mail_is_a_duplicate() {
    let text = "mail,legacyExchangeDN,displayName,proxyAddresses\n\
                a@x.example,/o=O/ou=AG/cn=R/cn=a,A,smtp:shared@x.example\n\
                shared@x.example,/o=O/ou=AG/cn=R/cn=b,B,\n";
    only_problem(
        &csv_err(text),
        3,
        &["mail 'shared@x.example' is already used by the record on line 2"],
    );
}

#[test]
fn a_user_may_list_its_own_mail_among_its_proxies() {
    let text = "mail,legacyExchangeDN,displayName,proxyAddresses\n\
                a@x.example,/o=O/ou=AG/cn=R/cn=a,A,SMTP:A@x.example;smtp:a@X.example\n";
    assert_eq!(csv_ok(text)[0].smtp_addresses(), ["a@x.example"]);
}

#[test]
fn empty_files_and_files_without_users_are_refused() {
    for (text, format) in [
        ("", DirectoryFormat::Csv),
        ("\u{feff}\n\n", DirectoryFormat::Csv),
        (HEADER, DirectoryFormat::Csv),
        ("", DirectoryFormat::Ldif),
        ("version: 1\n\n# nothing\n", DirectoryFormat::Ldif),
    ] {
        let err = parse_directory(text, format).unwrap_err();
        assert_eq!(
            err.to_string(),
            "nothing was imported: no users found in the file"
        );
    }
    let err = parse_directory(
        "dn: OU=Paris,DC=x\nobjectClass: organizationalUnit\n",
        DirectoryFormat::Ldif,
    )
    .unwrap_err();
    assert_eq!(
        err.to_string(),
        "nothing was imported: no users found in the file (1 record without mail and \
         legacyExchangeDN, or not a person, skipped)"
    );
}

#[test]
fn malformed_values_are_named_with_their_field() {
    #[rustfmt::skip]
    let cases = [
        ("a.x.example", "/o=O/cn=a", "A", "mail 'a.x.example' is not an SMTP address: it has no @"),
        ("a@b@x.example", "/o=O/cn=a", "A", "more than one @"),
        ("@x.example", "/o=O/cn=a", "A", "nothing comes before the @"),
        ("a@x..example", "/o=O/cn=a", "A", "its domain is malformed"),
        ("\"a b\"@x.example", "/o=O/cn=a", "A", "spaces or control characters"),
        ("<a@x.example>", "/o=O/cn=a", "A", "it contains one of"),
        ("a@x.example", "o=O/cn=a", "A", "legacyExchangeDN 'o=O/cn=a' is not a legacyExchangeDN"),
        ("a@x.example", "/o=O/ou=AG", "A", "has no /cn= part"),
        ("a@x.example", "/o=O/cn=a", "   ", "displayName is empty"),
    ];
    for (mail, dn, name, expected) in cases {
        let text = format!("{HEADER}\"{}\",{dn},{name}\n", mail.replace('"', "\"\""));
        only_problem(&csv_err(&text), 2, &[expected]);
    }
    let long_name = "n".repeat(257);
    let text = format!("{HEADER}a@x.example,/o=O/cn=a,{long_name}\n");
    only_problem(&csv_err(&text), 2, &["longer than 256 characters"]);
}

#[test]
fn values_are_trimmed() {
    let text = "mail,legacyExchangeDN,displayName,mailNickname,proxyAddresses\n\
                \"  a@x.example \",\" /o=O/ou=AG/cn=R/cn=a \",\"  Ann A \",\" ann \",\" smtp:b@x.example ; X500:/o=O \"\n";
    let e = &csv_ok(text)[0];
    assert_eq!(e.mail, "a@x.example");
    assert_eq!(e.legacy_dn.as_str(), "/o=O/ou=AG/cn=R/cn=a");
    assert_eq!(e.display_name, "Ann A");
    assert_eq!(e.alias, "ann");
    assert_eq!(e.proxy_addresses, ["smtp:b@x.example", "X500:/o=O"]);
}

#[test]
fn smtp_addresses_primary_first_without_repeats_and_other_types() {
    let entry = DirectoryEntry {
        mail: "Dan@xcs.example".to_string(),
        legacy_dn: LegacyDn::parse("/o=O/ou=AG/cn=Recipients/cn=dan").unwrap(),
        display_name: "Dan".to_string(),
        alias: "dan".to_string(),
        proxy_addresses: vec![
            "X500:/o=Old/cn=dan".to_string(),
            "smtp:dan.w@xcs.example".to_string(),
            "SMTP:dan@XCS.example".to_string(),
            "sip:dan@xcs.example".to_string(),
            "Smtp:DAN.W@xcs.example".to_string(),
        ],
        line: 1,
    };
    assert_eq!(
        entry.smtp_addresses(),
        ["Dan@xcs.example", "dan.w@xcs.example"]
    );
}

#[test]
fn detect_format_looks_at_the_first_meaningful_line() {
    use DirectoryFormat::*;
    for (text, expected) in [
        ("dn: cn=a\n", Ldif),
        ("DN:: Y249YQ==\n", Ldif),
        ("\u{feff}# comment\n\n  Version: 1\n", Ldif),
        ("\r\n#x\r\ndn:cn=a", Ldif),
        ("DN,objectClass,mail\n", Csv),
        ("mail,legacyExchangeDN,displayName\n", Csv),
        ("# dn: in a comment\nmail\n", Csv),
        ("", Csv),
        ("dé", Csv),
    ] {
        assert_eq!(detect_format(text), expected, "{text:?}");
    }
    assert_eq!(detect_format(CSVDE_EXPORT), Csv);
    assert_eq!(detect_format(DEMO_CSV), Csv);
    assert_eq!(detect_format(DEMO_LDIF), Ldif);
}

#[test]
fn error_message_counts_records_and_caps_the_list() {
    let one = DirectoryFileError {
        problems: vec![LineProblem::new(7, "displayName is empty")],
    };
    assert_eq!(
        one.to_string(),
        "1 problem; nothing was imported:\n  line 7: displayName is empty"
    );
    let mut text = HEADER.to_string();
    for i in 0..60 {
        text.push_str(&format!("u{i}@x.example,/x{i},U\n"));
    }
    let err = parse_directory(&text, DirectoryFormat::Csv).unwrap_err();
    assert_eq!(err.problems.len(), 60);
    let shown = err.to_string();
    assert!(shown.starts_with("60 problems; nothing was imported:\n  line 2: "));
    assert_eq!(shown.lines().count(), 1 + 50 + 1);
    assert!(shown.ends_with("\n  … and 10 more"));
    assert!(shown.contains("line 51: "));
    assert!(!shown.contains("line 52: "));
}

// ---------------------------------------------------------------------------------------
// Demo fixtures

#[test]
fn demo_fixtures_describe_the_same_twelve_users() {
    let from_csv = parse_directory_detailed(DEMO_CSV, DirectoryFormat::Csv).unwrap();
    let from_ldif = parse_directory_detailed(DEMO_LDIF, DirectoryFormat::Ldif).unwrap();
    assert_eq!(from_csv.entries.len(), 12);
    assert_eq!((from_csv.skipped, from_ldif.skipped), (3, 3));
    let without_lines = |entries: &[DirectoryEntry]| -> Vec<DirectoryEntry> {
        entries
            .iter()
            .map(|e| DirectoryEntry {
                line: 0,
                ..e.clone()
            })
            .collect()
    };
    assert_eq!(
        without_lines(&from_csv.entries),
        without_lines(&from_ldif.entries)
    );
    // LegacyDn equality ignores case; the fixtures must agree exactly.
    for (c, l) in from_csv.entries.iter().zip(&from_ldif.entries) {
        assert_eq!(c.legacy_dn.as_str(), l.legacy_dn.as_str());
    }
    // The demo's one group, Paris Staff, has the four Paris users in both files (the
    // demo loads the CSV: a group without members there answers nobody).
    let groups = |p: &ParsedDirectory| -> Vec<Group> {
        p.groups.groups.iter().map(|g| g.group.clone()).collect()
    };
    let (csv_groups, ldif_groups) = (groups(&from_csv), groups(&from_ldif));
    assert_eq!(csv_groups, ldif_groups);
    assert_eq!(csv_groups.len(), 1);
    let staff = &csv_groups[0];
    assert_eq!(staff.display_name, "Paris Staff");
    assert_eq!(staff.member_count, 4);
    assert!(
        staff
            .members
            .iter()
            .all(|m| m.ends_with(",OU=Paris,DC=companyabc,DC=example")),
        "{:?}",
        staff.members
    );
}

#[test]
fn demo_fixtures_hold_the_users_other_modules_rely_on() {
    let entries = csv_ok(DEMO_CSV);
    let by_alias = |alias: &str| {
        entries
            .iter()
            .find(|e| e.alias == alias)
            .unwrap_or_else(|| panic!("no {alias}"))
    };
    let dan = by_alias("dwinship");
    assert_eq!(dan.mail, "danw@xcs.example");
    assert_eq!(dan.display_name, "Dan Winship");
    assert_eq!(
        dan.legacy_dn.admin_group().as_str(),
        "EX:/o=First Organization/ou=First Administrative Group"
    );
    let js = by_alias("jsguillet");
    assert_eq!(js.display_name, "Jean-Sébastien Guillet");
    assert_eq!(js.mail, "jsguillet@companyabc.example");
    assert_eq!(
        js.legacy_dn.as_str(),
        "/o=CompanyABC/ou=Paris/cn=Recipients/cn=jsguillet"
    );
    for alias in ["amartin", "kbaker", "lchen", "mgarcia"] {
        by_alias(alias);
    }
    let groups: Vec<String> = entries
        .iter()
        .map(|e| e.legacy_dn.admin_group().to_string())
        .collect();
    let count = |ag: &str| groups.iter().filter(|g| *g == ag).count();
    assert_eq!(
        count("EX:/o=First Organization/ou=First Administrative Group"),
        4
    );
    assert_eq!(count("EX:/o=CompanyABC/ou=Paris"), 4);
    assert_eq!(count("EX:/o=CompanyABC/ou=London"), 3);
    assert!(
        entries.iter().any(|e| e.alias != e.legacy_dn.last_cn()),
        "one user's mailNickname differs from the DN"
    );
    assert!(
        entries
            .iter()
            .any(|e| e.legacy_dn.subject().as_str().matches("/CN=").count() > 2),
        "one user has an extra /cn= level"
    );
    assert!(
        entries
            .iter()
            .all(|e| { e.smtp_addresses().iter().all(|a| a.ends_with(".example")) })
    );
}

// ---------------------------------------------------------------------------------------
// Properties

/// A tiny CSV writer, written apart from the reader: quote a field when it holds a comma,
/// quote, line end or surrounding space; double the quotes inside.
fn write_csv(entries: &[DirectoryEntry]) -> String {
    fn field(s: &str) -> String {
        if s.contains([',', '"', '\n', '\r']) || s.trim() != s {
            format!("\"{}\"", s.replace('"', "\"\""))
        } else {
            s.to_string()
        }
    }
    let mut out = String::from("mail,legacyExchangeDN,displayName,mailNickname,proxyAddresses\n");
    for e in entries {
        let nickname = if e.alias == e.legacy_dn.last_cn() {
            ""
        } else {
            &e.alias
        };
        let row = [
            field(&e.mail),
            field(e.legacy_dn.as_str()),
            field(&e.display_name),
            field(nickname),
            field(&e.proxy_addresses.join(";")),
        ];
        out.push_str(&row.join(","));
        out.push('\n');
    }
    out
}

/// A tiny LDIF writer: base64 for anything not plain ASCII, lines folded at `width`.
fn write_ldif(entries: &[DirectoryEntry], width: usize) -> (String, Vec<usize>) {
    use base64::Engine as _;
    let mut out = String::from("version: 1\n");
    let mut starts = Vec::new();
    let mut line_no = 1;
    for e in entries {
        out.push('\n');
        line_no += 1;
        starts.push(line_no + 1);
        let mut attrs = vec![
            ("dn", format!("CN={},DC=lab,DC=example", e.display_name)),
            ("objectClass", "user".to_string()),
            ("mail", e.mail.clone()),
            ("legacyExchangeDN", e.legacy_dn.as_str().to_string()),
            ("displayName", e.display_name.clone()),
            ("mailNickname", e.alias.clone()),
        ];
        attrs.extend(
            e.proxy_addresses
                .iter()
                .map(|p| ("proxyAddresses", p.clone())),
        );
        for (name, value) in attrs {
            let plain = value.is_ascii()
                && !value.starts_with([' ', ':', '<'])
                && !value.ends_with(' ')
                && !value.contains(['\n', '\r']);
            let line = if plain {
                format!("{name}: {value}")
            } else {
                format!(
                    "{name}:: {}",
                    base64::engine::general_purpose::STANDARD.encode(&value)
                )
            };
            let chars: Vec<char> = line.chars().collect();
            let mut chunks = chars.chunks(width);
            out.extend(chunks.next().unwrap_or_default());
            out.push('\n');
            line_no += 1;
            for chunk in chunks {
                out.push(' ');
                out.extend(chunk);
                out.push('\n');
                line_no += 1;
            }
        }
    }
    (out, starts)
}

fn entries_strategy() -> impl Strategy<Value = Vec<DirectoryEntry>> {
    let entry = (
        "[a-z][a-z0-9._-]{0,10}",
        "[a-z][a-z0-9-]{0,8}\\.example",
        "[A-Za-z][A-Za-z0-9 ,.]{0,12}",
        "[A-Za-z][A-Za-z0-9 ()]{0,20}",
        "[^\\p{C}]{1,40}",
        proptest::option::of("[a-zA-Z][a-zA-Z0-9._-]{0,20}"),
        proptest::collection::vec((0..3u8, "[a-z]{1,8}"), 0..4),
    );
    proptest::collection::vec(entry, 1..8).prop_filter_map(
        "display names must not be blank",
        |raw| {
            let mut entries = Vec::new();
            for (i, (local, domain, org, ag, name, nickname, proxies)) in
                raw.into_iter().enumerate()
            {
                let display_name = name.trim().to_string();
                if display_name.is_empty() {
                    return None;
                }
                let legacy_dn =
                    LegacyDn::parse(&format!("/o={org}/ou={ag}/cn=Recipients/cn=u{i}")).ok()?;
                let proxy_addresses = proxies
                    .into_iter()
                    .enumerate()
                    .map(|(j, (kind, name))| match kind {
                        0 => format!("smtp:{name}+{i}.{j}@{domain}"),
                        1 => format!("SMTP:{local}{i}@{domain}"),
                        _ => format!("X500:/o={org}/ou=Old/cn=Recipients/cn={name}"),
                    })
                    .collect();
                entries.push(DirectoryEntry {
                    mail: format!("{local}{i}@{domain}"),
                    alias: nickname.unwrap_or_else(|| legacy_dn.last_cn().to_string()),
                    legacy_dn,
                    display_name,
                    proxy_addresses,
                    line: i + 2,
                });
            }
            Some(entries)
        },
    )
}

/// Lines that look like parts of an export, to reach deep into both parsers.
fn exportish_text() -> impl Strategy<Value = String> {
    let line = prop_oneof![
        Just(String::new()),
        Just("version: 1".to_string()),
        Just("dn: cn=a".to_string()),
        Just("dn:: Y249YQ==".to_string()),
        Just("mail: a@x.example".to_string()),
        Just("mail:: YUB4LmV4YW1wbGU=".to_string()),
        Just("legacyExchangeDN: /o=O/ou=AG/cn=R/cn=a".to_string()),
        Just("displayName:: w6k=".to_string()),
        Just("displayName:: /w==".to_string()),
        Just("proxyAddresses: smtp:b@x.example".to_string()),
        Just("changetype: modify".to_string()),
        Just("# comment".to_string()),
        Just("mail,legacyExchangeDN,displayName,proxyAddresses".to_string()),
        Just("a@x.example,/o=O/cn=a,\"A, \"\"B\"\"\",X400:c=US;a= ;;".to_string()),
        Just("\"unterminated".to_string()),
        "[ -~]{0,30}",
        " [ -~é]{0,10}",
        "\\PC{0,20}",
    ];
    (proptest::collection::vec(line, 0..25), any::<bool>())
        .prop_map(|(lines, crlf)| lines.join(if crlf { "\r\n" } else { "\n" }))
}

proptest! {
    #[test]
    fn parsing_never_panics_on_any_text(text in "\\PC{0,300}|[\\s\\S]{0,200}") {
        for format in [DirectoryFormat::Csv, DirectoryFormat::Ldif, detect_format(&text)] {
            if let Err(e) = parse_directory(&text, format) {
                prop_assert!(!e.problems.is_empty());
                let _ = e.to_string();
            }
        }
    }

    #[test]
    fn parsing_never_panics_on_export_like_text(text in exportish_text()) {
        for format in [DirectoryFormat::Csv, DirectoryFormat::Ldif] {
            match parse_directory(&text, format) {
                Ok(entries) => prop_assert!(!entries.is_empty()),
                Err(e) => {
                    prop_assert!(!e.problems.is_empty());
                    prop_assert!(e.problems.windows(2).all(|w| w[0].line <= w[1].line));
                    prop_assert!(e.problems.iter().all(|p| !p.reason.contains(['\n', '\r'])));
                }
            }
        }
    }

    #[test]
    fn entries_written_as_csv_parse_back_identically(entries in entries_strategy()) {
        let text = write_csv(&entries);
        let parsed = parse_directory(&text, DirectoryFormat::Csv);
        prop_assert_eq!(parsed.as_ref().ok(), Some(&entries), "{}\n{:?}", text, parsed);
        for (a, b) in parsed.unwrap().iter().zip(&entries) {
            prop_assert_eq!(a.legacy_dn.as_str(), b.legacy_dn.as_str());
        }
    }

    #[test]
    fn entries_written_as_ldif_parse_back_identically(
        entries in entries_strategy(),
        width in 2usize..100,
    ) {
        let (text, starts) = write_ldif(&entries, width);
        let expected: Vec<DirectoryEntry> = entries
            .iter()
            .zip(starts)
            .map(|(e, line)| DirectoryEntry { line, ..e.clone() })
            .collect();
        let parsed = parse_directory(&text, DirectoryFormat::Ldif);
        prop_assert_eq!(parsed.as_ref().ok(), Some(&expected), "{}\n{:?}", text, parsed);
    }
}

// ---- Read as a stream (issue 13 item 2) ------------------------------------------------

/// A file that hands out at most `n` bytes a read: with small `n`, every boundary between
/// two reads falls inside every character and every CRLF of the file once.
struct Trickle<'a> {
    bytes: &'a [u8],
    n: usize,
}

impl Read for Trickle<'_> {
    fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
        let k = self.n.min(buf.len()).min(self.bytes.len());
        buf[..k].copy_from_slice(&self.bytes[..k]);
        self.bytes = &self.bytes[k..];
        Ok(k)
    }
}

/// The users of an export's bytes read `n` bytes at a time, and the encoding found.
fn streamed(bytes: &[u8], n: usize) -> (Result<ParsedDirectory, DirectoryFileError>, TextEncoding) {
    let mut stream = DirectoryStream::new(Trickle { bytes, n }, None);
    let mut entries = Vec::new();
    while let Some(entry) = stream.next_user() {
        entries.push(entry);
    }
    let encoding = stream.encoding();
    let parsed = stream.finish().map(|counts| {
        assert_eq!(counts.users, entries.len());
        ParsedDirectory {
            entries,
            skipped: counts.skipped,
            groups: counts.groups,
        }
    });
    (parsed, encoding)
}

fn utf16(text: &str, bom: bool, le: bool) -> Vec<u8> {
    let mark: &[u8] = match (bom, le) {
        (false, _) => &[],
        (true, true) => &[0xFF, 0xFE],
        (true, false) => &[0xFE, 0xFF],
    };
    let units = text
        .encode_utf16()
        .flat_map(|u| if le { u.to_le_bytes() } else { u.to_be_bytes() });
    mark.iter().copied().chain(units).collect()
}

/// Every encoding Windows writes, read a byte, two bytes… at a time (so that a read ends
/// inside each surrogate pair, each multi-byte character and each CRLF), gives what the
/// text gives whole, in CSV and in LDIF.
#[test]
fn encodings_decode_alike_whatever_the_read_boundaries() {
    let csv = "mail,legacyExchangeDN,displayName\r\n\
               a@x.example,/o=X/ou=AG/cn=Recipients/cn=a,Amélie 😀 Müller\r\n\
               b@x.example,/o=X/ou=AG/cn=Recipients/cn=b,\"Zoë, 𝄞 \"\"B\"\"\"\r\n";
    let ldif = "version: 1\r\n\r\ndn: cn=a,dc=x\r\nmail: a@x.example\r\n\
                legacyExchangeDN: /o=X/ou=AG/cn=Recipients/cn=a\r\ndisplayName: Amélie 😀\r\n \
                Müller\r\n\r\ndn: cn=b,dc=x\r\nmail: b@x.example\r\n\
                legacyExchangeDN: /o=X/ou=AG/cn=Recipients/cn=b\r\ndisplayName: Zoë 𝄞\r\n";
    for (text, format) in [(csv, DirectoryFormat::Csv), (ldif, DirectoryFormat::Ldif)] {
        let whole = parse_directory_detailed(text, format).unwrap();
        assert_eq!(whole.entries.len(), 2);
        let files = [
            (text.as_bytes().to_vec(), TextEncoding::Utf8),
            (
                [&[0xEF, 0xBB, 0xBF][..], text.as_bytes()].concat(),
                TextEncoding::Utf8Bom,
            ),
            (utf16(text, true, true), TextEncoding::Utf16LeBom),
            (utf16(text, false, true), TextEncoding::Utf16Le),
            (utf16(text, true, false), TextEncoding::Utf16BeBom),
        ];
        for (bytes, encoding) in files {
            for n in (1..=9).chain([4096]) {
                let (got, found) = streamed(&bytes, n);
                assert_eq!(found, encoding, "{encoding:?}, {n} bytes a read");
                assert_eq!(got.unwrap(), whole, "{encoding:?}, {n} bytes a read");
            }
        }
    }
    // windows-1252 has no emoji: its own sample.
    let ansi = b"mail,legacyExchangeDN,displayName\r\na@x.example,/o=X/ou=AG/cn=Recipients/cn=a,Am\xe9lie M\xfcller \x80\r\n";
    let text = "mail,legacyExchangeDN,displayName\r\na@x.example,/o=X/ou=AG/cn=Recipients/cn=a,Amélie Müller €\r\n";
    let whole = parse_directory_detailed(text, DirectoryFormat::Csv).unwrap();
    for n in 1..=5 {
        let (got, found) = streamed(ansi, n);
        assert_eq!(found, TextEncoding::Windows1252);
        assert_eq!(got.unwrap(), whole, "{n} bytes a read");
    }
}

/// `n` users as csvde writes them, the header on line 1 and user `i` on line `i + 2`.
fn many_users(n: usize) -> String {
    let rows =
        (0..n).map(|i| format!("user{i}@x.example,/o=X/ou=AG/cn=Recipients/cn=user{i},User {i}\n"));
    std::iter::once("mail,legacyExchangeDN,displayName\n".to_string())
        .chain(rows)
        .collect()
}

/// A problem far into a file (past many read blocks) is named on its line; the stream hands
/// out the users before it, then nothing, and the verdict refuses the whole file.
#[test]
fn a_problem_deep_in_a_large_file_names_its_line_and_refuses_the_file() {
    let mut csv = many_users(30_000);
    assert!(csv.len() > 4 * 64 * 1024);
    csv = csv.replace(
        "user24999@x.example,/o=X/ou=AG/cn=Recipients/cn=user24999,User 24999\n",
        "user24999@x.example,/o=X/ou=AG/cn=Recipients/cn=user24999,\n",
    );
    csv.push_str("USER3@x.example,/o=X/ou=AG/cn=Recipients/cn=late,Late\n");
    let mut stream = DirectoryStream::new(csv.as_bytes(), None);
    let mut handed = 0;
    while stream.next_user().is_some() {
        handed += 1;
    }
    assert_eq!(handed, 24_999, "the users before line 25001");
    let problems = stream.finish().unwrap_err().problems;
    problems_are(
        &problems,
        &[
            (25_001, &["displayName is empty"]),
            (
                30_002,
                &["'USER3@x.example' is already used by the record on line 5"],
            ),
        ],
    );
}

/// Text that cannot be decoded far into a file is named on its line, read in blocks or a
/// few bytes at a time; a NUL anywhere in a file without a byte-order mark is named first.
#[test]
fn encoding_problems_deep_in_a_file_name_their_line() {
    // windows-1252: é as 0xE9 on line 2, a byte it does not define on line 19,000.
    let mut ansi =
        b"mail,legacyExchangeDN,displayName\na@x.example,/o=X/ou=AG/cn=Recipients/cn=a,Am\xe9\n"
            .to_vec();
    for line in 3..=20_000 {
        let row = format!("u{line}@x.example,/o=X/ou=AG/cn=Recipients/cn=u{line},U\n");
        ansi.extend_from_slice(if line == 19_000 {
            b"x\x81y\n"
        } else {
            row.as_bytes()
        });
    }
    for n in [3, 64 * 1024] {
        let (got, found) = streamed(&ansi, n);
        assert_eq!(found, TextEncoding::Windows1252);
        only_problem(
            &got.unwrap_err().problems,
            19_000,
            &["0x81", "windows-1252"],
        );
        // A NUL later than that is named instead.
        let with_nul = [&ansi[..], b"z\x00\n"].concat();
        only_problem(
            &streamed(&with_nul, n).0.unwrap_err().problems,
            20_001,
            &["NUL"],
        );
    }
    // UTF-8 (é as two bytes on line 2), then a byte that is not UTF-8.
    let mut utf8 = b"mail,legacyExchangeDN,displayName\na@x.example,/o=X/ou=AG/cn=Recipients/cn=a,Am\xc3\xa9\n".to_vec();
    utf8.extend(std::iter::repeat_n(b"# filler line\n".to_vec(), 18_000).flatten());
    utf8.extend_from_slice(b"b\xff\n");
    for n in [2, 64 * 1024] {
        only_problem(
            &streamed(&utf8, n).0.unwrap_err().problems,
            18_003,
            &["0xFF", "UTF-8"],
        );
    }
    // UTF-16LE: an unpaired surrogate on line 18,003.
    let text = String::from_utf8(utf8[..utf8.len() - 3].to_vec()).unwrap();
    let mut utf16le = utf16(&text, true, true);
    utf16le.extend_from_slice(&0xD800u16.to_le_bytes());
    utf16le.extend_from_slice(&utf16("x\r\n", false, true));
    for n in [1, 5, 64 * 1024] {
        only_problem(
            &streamed(&utf16le, n).0.unwrap_err().problems,
            18_003,
            &["UTF-16LE"],
        );
    }
}

/// The quote checks run as the text is read and outrank later problems as they did when
/// the whole text was checked first: a quote never closed is the file's one problem, even
/// after a bad header; a byte that cannot be text outranks the quote.
#[test]
fn quote_problems_are_found_as_the_text_is_read() {
    let header = "mail,legacyExchangeDN,displayName\n";
    let good = "a@x.example,/o=X/ou=AG/cn=Recipients/cn=a,A\n";
    let unclosed = format!("{header}{good}b@x.example,\"/o=X/ou=AG,B\n{good}");
    only_problem(&csv_err(&unclosed), 3, &["never closed"]);
    let lost = format!("{header}\"a,b,c\n\"d,e\",f\n");
    only_problem(&csv_err(&lost), 2, &["on line 3", "followed by text"]);
    let bad_header = format!("mail,displayName\n{good}x,\"y\n");
    only_problem(&csv_err(&bad_header), 3, &["never closed"]);
    let then_bad_byte = [format!("{header}x,\"y\n").as_bytes(), b"\x81\n"].concat();
    only_problem(
        &streamed(&then_bad_byte, 7).0.unwrap_err().problems,
        3,
        &["0x81"],
    );
}
