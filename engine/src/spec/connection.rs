//! Checks of the connection settings (URLs, the zone user's e-mail, allowed hosts, secret
//! references): they decide where credentials go, so a bad one is refused before anything runs.

use reqwest::Url;

use super::{AtriaConnection, AutotaskConnection, JobSpec, SecretRef};
use crate::problems::{Problem, Problems};

/// The longest URL accepted (browsers and proxies agree on about this much).
pub const MAX_URL_CHARS: usize = 2048;
/// The longest e-mail address (RFC 5321's path limit less the brackets).
const MAX_EMAIL_CHARS: usize = 254;
/// The longest host name (RFC 1035).
const MAX_HOST_CHARS: usize = 253;

/// Hosts reserved for documentation and tests (RFC 2606, RFC 6761): a spec naming one was
/// copied from an example and not finished.
pub fn is_placeholder_host(host: &str) -> bool {
    let host = host.trim().trim_end_matches('.').to_ascii_lowercase();
    let reserved_domains = ["example.com", "example.net", "example.org", "example"];
    let reserved_tlds = [".test", ".invalid", ".example"];
    reserved_domains.iter().any(|domain| host == *domain || host.ends_with(&format!(".{domain}")))
        || reserved_tlds.iter().any(|tld| host.ends_with(tld))
}

/// Every refusal of the connection settings, and every warning (placeholder hosts).
pub(super) fn check(spec: &JobSpec, problems: &mut Problems, warnings: &mut Problems) {
    if let Some(AtriaConnection { base_url, token }) = &spec.atria {
        check_url("$.atria.baseUrl", "`atria.baseUrl`", base_url, problems, warnings);
        check_secret_ref("$.atria.token", token, problems);
    }
    if let Some(autotask) = &spec.autotask {
        check_autotask(autotask, problems, warnings);
    }
}

fn check_autotask(autotask: &AutotaskConnection, problems: &mut Problems, warnings: &mut Problems) {
    if !autotask.base_url.trim().is_empty() || has_control(&autotask.base_url) {
        check_url("$.autotask.baseUrl", "`autotask.baseUrl`", &autotask.base_url, problems, warnings);
    }
    check_url(
        "$.autotask.zoneDiscoveryUrl",
        "`autotask.zoneDiscoveryUrl`",
        &autotask.zone_discovery_url,
        problems,
        warnings,
    );
    if let Some(user) = autotask.zone_user.as_deref().filter(|user| !user.trim().is_empty())
        && let Err(why) = check_email(user)
    {
        problems.push(Problem::at(
            "$.autotask.zoneUser",
            format!(
                "AT17 user email is not valid: {why}; expected the e-mail address of an Autotask user, such as `api-user@yourcompany.com`"
            ),
        ));
    }
    for (index, host) in autotask.allow_hosts.iter().enumerate() {
        let place = format!("$.autotask.allowHosts[{index}]");
        match check_host_name(host) {
            Err(why) => problems.push(Problem::at(
                place,
                format!(
                    "{why}; expected a host name such as `autotask-proxy.yourcompany.com`, without scheme, port or path"
                ),
            )),
            Ok(()) if is_placeholder_host(host) => {
                let message = placeholder(&place, host);
                warnings.push(Problem::at(place, message));
            }
            Ok(()) => {}
        }
    }
    for (place, reference) in [
        ("$.autotask.username", &autotask.username),
        ("$.autotask.secret", &autotask.secret),
        ("$.autotask.integrationCode", &autotask.integration_code),
    ] {
        check_secret_ref(place, reference, problems);
    }
}

fn placeholder(place: &str, host: &str) -> String {
    // Only the Atria client refuses such a host outright; Autotask's have their allow-list.
    let consequence =
        if place == "$.atria.baseUrl" { " (the online commands refuse to send the token there)" } else { "" };
    format!(
        "warning: `{}` is a placeholder host, reserved for examples; set your real host{consequence}",
        shown(host)
    )
}

/// A URL that may receive credentials: parseable, https (or http to loopback), bounded, with no
/// user, password, query or fragment. Placeholder hosts are a warning.
pub(crate) fn check_url(
    place: &str,
    key: &str,
    text: &str,
    problems: &mut Problems,
    warnings: &mut Problems,
) {
    match url_problem(text) {
        Some(why) => problems.push(Problem::at(place, format!("{key} {why}"))),
        None => {
            let host = Url::parse(text.trim()).ok().and_then(|url| url.host_str().map(str::to_owned));
            if let Some(host) = host.filter(|host| is_placeholder_host(host)) {
                warnings.push(Problem::at(place, placeholder(place, &host)));
            }
        }
    }
}

/// Why `text` is not a URL credentials may go to, with what is expected; `None` when it is.
pub(crate) fn url_problem(text: &str) -> Option<String> {
    const EXPECTED: &str = "expected an https URL such as `https://host.yourcompany.com/` (plain http only to 127.0.0.1, ::1 or localhost)";
    let length = text.chars().count();
    if length > MAX_URL_CHARS {
        return Some(format!("is {length} characters long; expected a URL of at most {MAX_URL_CHARS}"));
    }
    if let Some(position) = control_position(text) {
        return Some(format!("holds a control character at character {position}; {EXPECTED}"));
    }
    let trimmed = text.trim();
    if trimmed.is_empty() {
        return Some(format!("is empty; {EXPECTED}"));
    }
    let url = match Url::parse(trimmed) {
        Ok(url) => url,
        Err(error) => return Some(format!("`{}` is not a URL ({error}); {EXPECTED}", shown(trimmed))),
    };
    let loopback = is_loopback(&url);
    match url.scheme() {
        "https" => {}
        "http" if loopback => {}
        "http" => {
            return Some(format!(
                "`{}` is plain http to a host that is not loopback; {EXPECTED}",
                shown(trimmed)
            ));
        }
        scheme => return Some(format!("`{}` has the scheme `{scheme}`; {EXPECTED}", shown(trimmed))),
    }
    if url.host_str().is_none_or(str::is_empty) {
        return Some(format!("`{}` names no host; {EXPECTED}", shown(trimmed)));
    }
    if !url.username().is_empty() || url.password().is_some() {
        return Some(
            "holds a user name or password; expected a URL without credentials (they belong in the secret references)"
                .to_owned(),
        );
    }
    if url.query().is_some() || url.fragment().is_some() {
        return Some(format!(
            "`{}` has a query or fragment; expected a base URL without them",
            shown(trimmed)
        ));
    }
    None
}

/// An e-mail address as Autotask user names are: `local@domain.tld`, printable ASCII.
pub(crate) fn check_email(text: &str) -> Result<(), String> {
    let length = text.chars().count();
    if length > MAX_EMAIL_CHARS {
        return Err(format!("it is {length} characters long, more than {MAX_EMAIL_CHARS}"));
    }
    if let Some(position) = control_position(text) {
        return Err(format!("it holds a control character at character {position}"));
    }
    let trimmed = text.trim();
    let Some((local, domain)) = trimmed.rsplit_once('@') else {
        return Err(format!("`{}` has no `@`", shown(trimmed)));
    };
    let local_ok = !local.is_empty()
        && local.len() <= 64
        && !local.starts_with('.')
        && !local.ends_with('.')
        && !local.contains("..")
        && local.chars().all(|c| c.is_ascii_alphanumeric() || "!#$%&'*+/=?^_`{|}~.-".contains(c));
    if !local_ok {
        return Err(format!("the part before `@` of `{}` is not valid", shown(trimmed)));
    }
    if check_host_name(domain).is_err() || !domain.contains('.') {
        return Err(format!("the domain of `{}` is not valid", shown(trimmed)));
    }
    Ok(())
}

/// A DNS host name: dot-separated labels of letters, digits and `-`.
fn check_host_name(text: &str) -> Result<(), String> {
    if let Some(position) = control_position(text) {
        return Err(format!("holds a control character at character {position}"));
    }
    let host = text.trim().trim_end_matches('.');
    if host.is_empty() || host.len() > MAX_HOST_CHARS {
        return Err(format!("`{}` is not a host name", shown(text)));
    }
    let label_ok = |label: &str| {
        !label.is_empty()
            && label.len() <= 63
            && !label.starts_with('-')
            && !label.ends_with('-')
            && label.chars().all(|c| c.is_ascii_alphanumeric() || c == '-')
    };
    if host.split('.').all(label_ok) { Ok(()) } else { Err(format!("`{}` is not a host name", shown(text))) }
}

fn check_secret_ref(place: &str, reference: &SecretRef, problems: &mut Problems) {
    match reference {
        SecretRef::Env(name) => {
            let valid = name.chars().next().is_some_and(|c| c.is_ascii_alphabetic() || c == '_')
                && name.chars().all(|c| c.is_ascii_alphanumeric() || c == '_')
                && name.len() <= 255;
            if !valid {
                problems.push(Problem::at(
                    format!("{place}.env"),
                    format!(
                        "`{}` is not an environment variable name; expected letters, digits and `_`, such as `AUTOTASK_SECRET`",
                        shown(name)
                    ),
                ));
            }
        }
        SecretRef::File(path) => {
            let text = path.to_string_lossy();
            if text.trim().is_empty() || has_control(&text) {
                problems.push(Problem::at(
                    format!("{place}.file"),
                    "is empty or holds a control character; expected the path of a file holding the secret",
                ));
            }
        }
    }
}

/// Characters that have no place in a setting: C0 controls (tab included), DEL and C1 controls.
fn is_control(c: char) -> bool {
    c.is_control()
}

fn has_control(text: &str) -> bool {
    text.chars().any(is_control)
}

/// The 1-based character position of the first control character.
fn control_position(text: &str) -> Option<usize> {
    text.chars().position(is_control).map(|index| index + 1)
}

/// A value as an error quotes it: at most 80 characters, control characters escaped.
fn shown(text: &str) -> String {
    let escaped = crate::terminal::escape_controls_line(text);
    match escaped.char_indices().nth(80) {
        Some((cut, _)) => format!("{}…", &escaped[..cut]),
        None => escaped.into_owned(),
    }
}

/// 127.0.0.0/8, `::1` or `localhost`: where the mocks run.
pub(crate) fn is_loopback(url: &Url) -> bool {
    let Some(host) = url.host_str() else { return false };
    let host = host.trim_start_matches('[').trim_end_matches(']');
    host.eq_ignore_ascii_case("localhost")
        || host.parse::<std::net::IpAddr>().is_ok_and(|ip| ip.is_loopback())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn urls() {
        for ok in ["https://atria.acme.com", "http://127.0.0.1:8082/", "https://h/a/b", "http://localhost:1"]
        {
            assert_eq!(url_problem(ok), None, "{ok}");
        }
        for (bad, expected) in [
            ("not a url", "is not a URL"),
            ("http://atria.acme.com/", "plain http"),
            ("ftp://atria.acme.com/", "scheme `ftp`"),
            ("https://user:pw@atria.acme.com/", "user name or password"),
            ("https://atria.acme.com/?token=x", "query"),
            ("https://atria.acme.com/\u{1b}[2K", "control character at character 24"),
            ("", "is empty"),
        ] {
            let problem = url_problem(bad).unwrap_or_default();
            assert!(problem.contains(expected), "{bad}: {problem}");
        }
        let long = format!("https://a.com/{}", "x".repeat(4 << 20));
        assert!(url_problem(&long).unwrap_or_default().contains("at most 2048"));
    }

    #[test]
    fn emails_and_hosts() {
        assert_eq!(check_email("fred@cspservices.com"), Ok(()));
        assert_eq!(check_email("api.user+sync@mail.acme.co.uk"), Ok(()));
        for bad in
            ["fred", "fred@", "@acme.com", "fred@acme", "fr ed@acme.com", "fred@acme..com", "a\0b@c.com"]
        {
            assert!(check_email(bad).is_err(), "{bad}");
        }
        assert!(is_placeholder_host("atria.example.com") && is_placeholder_host("EXAMPLE.ORG."));
        assert!(is_placeholder_host("billing.test") && !is_placeholder_host("examples.com"));
        assert!(check_host_name("proxy.acme.com").is_ok() && check_host_name("https://proxy/").is_err());
    }
}
