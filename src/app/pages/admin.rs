//! The operators' console: accounts (search, an account's page and its actions), the audit
//! log, admin API tokens, and the apps that sign their users in with Latchkey. Plain
//! server-rendered pages and forms, no islands: all of it works without JavaScript, on a phone
//! (tables scroll sideways), in both languages. Anyone but an admin gets the site's "not found"
//! page, with its 404.

use crate::api::{
    admin_audit, admin_clients, admin_header, admin_search, admin_tokens, admin_user,
    page_language, AccountRowView, AdminAct, AdminAddClient, AdminCreateToken, AdminEditClient,
    AdminRemoveClient, AdminRevokeToken, AdminRotateClientSecret, AdminStepUp, ClientView,
    ConsoleHeader, EventRowView, FormError, UserView,
};
use crate::app::components::{
    form_error, passkeys_offered, this_page, PasskeyButton, PasskeyScript,
};
use crate::i18n::{fill, Text};
use leptos::prelude::*;
use leptos_meta::Title;
use leptos_router::hooks::{use_params_map, use_query_map};

/// The page for a console answer: `view` of what came, the "not found" page for anyone who is
/// not an admin, or the error.
fn answered<T, V: IntoView + 'static>(
    answer: Result<T, FormError>,
    view: impl FnOnce(T) -> V,
) -> AnyView {
    let t = page_language().text();
    match answer {
        Ok(value) => view(value).into_any(),
        // `ServiceError::NotFound` says the site's own "not found" words.
        Err(error) if error.message == t.not_found_title => {
            view! { <super::NotFound /> }.into_any()
        }
        Err(error) => view! {
            <section class="card"><p class="form-alert" role="alert">{error.message}</p></section>
        }
        .into_any(),
    }
}

/// The console's frame: its sections, who is signed in, and whether changes are open.
fn frame(header: &ConsoleHeader, here: &'static str, content: AnyView) -> AnyView {
    let t = page_language().text();
    let link = |path: &'static str, label: &'static str| {
        let current = (path == here).then_some("page");
        view! { <a href=path aria-current=current>{label}</a> }
    };
    // The check leads back to this very page (an account's, a filtered audit log).
    let back = this_page();
    let changes = match &header.changes_open_until {
        Some(until) => view! {
            <p class="hint" data-testid="changes-open">{fill(t.console_changes_open, &[until])}</p>
        }
        .into_any(),
        None => view! {
            <p class="notice" data-testid="changes-closed">
                {t.console_changes_closed}" "
                <a href=format!("/admin/step-up?next={}", encode(&back))>{t.console_step_up_link}</a>
            </p>
        }
        .into_any(),
    };
    view! {
        <section class="card console">
            <nav class="console-nav" aria-label=t.console_title>
                {link("/admin", t.console_nav_accounts)}
                {link("/admin/audit", t.console_nav_audit)}
                {link("/admin/clients", t.console_nav_clients)}
                {link("/admin/tokens", t.console_nav_tokens)}
            </nav>
            <p class="hint">{fill(t.console_signed_in_as, &[&header.admin])}</p>
            {changes}
            {content}
        </section>
    }
    .into_any()
}

/// The one alert of a page whose forms share a server function: the general message, or each
/// refused field's.
#[component]
fn ActionAlert(#[prop(into)] error: Signal<Option<FormError>>) -> impl IntoView {
    let said = move || {
        error.get().map(|e| {
            if e.fields.is_empty() {
                e.message
            } else {
                e.fields
                    .iter()
                    .map(|f| f.message.clone())
                    .collect::<Vec<_>>()
                    .join(" ")
            }
        })
    };
    view! {
        <Show when=move || said().is_some()>
            <p class="form-alert" role="alert" data-testid="console-error">{said}</p>
        </Show>
    }
}

fn reason_field(id: String) -> impl IntoView {
    let t = page_language().text();
    view! {
        <label for=id.clone()>{t.reason_label}</label>
        <input id=id name="reason" required maxlength="500" autocomplete="off" />
    }
}

/// A value as a query string carries it: everything but unreserved characters percent-encoded.
fn encode(value: &str) -> String {
    value
        .bytes()
        .map(|byte| match byte {
            b'A'..=b'Z' | b'a'..=b'z' | b'0'..=b'9' | b'-' | b'.' | b'_' | b'~' => {
                (byte as char).to_string()
            }
            other => format!("%{other:02X}"),
        })
        .collect()
}

/// `/admin`: find an account.
#[component]
pub fn AdminHome() -> impl IntoView {
    let t = page_language().text();
    let query = use_query_map();
    let asked = move || {
        query.with(|q| {
            let page = q
                .get("page")
                .and_then(|p| p.parse::<i64>().ok())
                .unwrap_or(0);
            (q.get("q").unwrap_or_default(), page.max(0))
        })
    };
    let found = Resource::new(asked, |(q, page)| admin_search(q, page));
    view! {
        <Title text=t.console_title />
        <Suspense fallback=|| ()>
            {move || Suspend::new(async move {
                let (q, page) = asked();
                answered(found.await, move |found| {
                    let rows = if found.accounts.is_empty() {
                        view! { <p data-testid="no-matches">{t.no_matches}</p> }.into_any()
                    } else {
                        accounts_table(found.accounts).into_any()
                    };
                    let encoded = encode(&q);
                    let previous = (page > 0).then(|| view! {
                        <a href=format!("/admin?q={encoded}&page={}", page - 1)>{t.previous_page}</a>
                    });
                    let next = found.more.then(|| view! {
                        <a href=format!("/admin?q={encoded}&page={}", page + 1)>{t.next_page}</a>
                    });
                    let deleted = query.with_untracked(|q| q.get("done")).as_deref() == Some("deleted");
                    frame(&found.header, "/admin", view! {
                        <h1>{t.console_title}</h1>
                        {deleted.then(|| view! { <p class="notice" role="status" data-testid="done">{t.done_notice}</p> })}
                        <form method="get" action="/admin" class="search">
                            <label for="q">{t.search_label}</label>
                            <input id="q" name="q" type="search" value=q.clone()
                                autocomplete="off" maxlength="320" aria-describedby="q-hint" />
                            <p class="hint" id="q-hint">{t.search_hint}</p>
                            <button type="submit">{t.search_button}</button>
                        </form>
                        {rows}
                        <p class="pages">{previous}" "{next}</p>
                    }.into_any())
                })
            })}
        </Suspense>
    }
}

fn accounts_table(accounts: Vec<AccountRowView>) -> impl IntoView {
    let t = page_language().text();
    view! {
        <div class="table-scroll">
            <table data-testid="accounts">
                <thead><tr>
                    <th>{t.col_username}</th><th>{t.col_email}</th><th>{t.col_phone}</th>
                    <th>{t.col_plan}</th><th>{t.col_status}</th><th>{t.col_created}</th>
                </tr></thead>
                <tbody>
                    {accounts.into_iter().map(|account| view! {
                        <tr>
                            <td><a href=format!("/admin/users/{}", account.id)>{account.username}</a></td>
                            <td>{account.email}</td>
                            <td>{account.phone.unwrap_or_default()}</td>
                            <td>{if account.paid { t.plan_paid } else { t.plan_free }}</td>
                            <td>{status_badge(t, account.enabled)}</td>
                            <td>{account.created}</td>
                        </tr>
                    }).collect_view()}
                </tbody>
            </table>
        </div>
    }
}

fn status_badge(t: &'static Text, enabled: bool) -> impl IntoView {
    if enabled {
        view! { <span class="badge ok">{t.status_enabled}</span> }
    } else {
        view! { <span class="badge">{t.status_disabled}</span> }
    }
}

/// `/admin/users/:id`: everything about one account, and what can be done to it.
#[component]
pub fn AdminUser() -> impl IntoView {
    let t = page_language().text();
    let params = use_params_map();
    let query = use_query_map();
    let id = move || {
        params
            .with(|p| p.get("id"))
            .and_then(|id| id.parse::<i64>().ok())
            .unwrap_or(-1)
    };
    // Fetched again after each action (`?done=…`).
    let user = Resource::new(move || (id(), query.get()), |(id, _)| admin_user(id));
    let done = move || query.with(|q| q.get("done")).is_some();
    view! {
        <Title text=t.console_title />
        <Suspense fallback=|| ()>
            {move || Suspend::new(async move {
                answered(user.await, move |user| {
                    let header = user.header.clone();
                    frame(&header, "/admin", view! {
                        <p class="aside"><a href="/admin">{t.back_to_search}</a></p>
                        <Show when=done>
                            <p class="notice" role="status" data-testid="done">{t.done_notice}</p>
                        </Show>
                        {user_sections(user)}
                    }.into_any())
                })
            })}
        </Suspense>
    }
}

fn user_sections(user: UserView) -> AnyView {
    let t = page_language().text();
    let yes_no = |value: bool| if value { t.label_yes } else { t.label_no };
    let verified = |value: bool| {
        if value {
            t.label_verified
        } else {
            t.label_unverified
        }
    };
    let factors = if user.factors.is_empty() {
        view! { <p data-testid="no-factors">{t.none_listed}</p> }.into_any()
    } else {
        view! {
            <ul data-testid="factors">
                {user.factors.iter().map(|factor| {
                    let kind = if factor.kind == "totp" { t.factor_totp } else { t.factor_passkey };
                    let name = (!factor.name.is_empty()).then(|| format!(" “{}”", factor.name));
                    let used = factor.last_used.as_ref().map(|at| format!(", {}", fill(t.factor_last_used, &[at])));
                    view! { <li>{kind}{name}" — "{fill(t.factor_added, &[&factor.added])}{used}</li> }
                }).collect_view()}
            </ul>
        }
        .into_any()
    };
    let list_or_none = |items: Vec<String>, test_id: &'static str| {
        if items.is_empty() {
            view! { <p>{t.none_listed}</p> }.into_any()
        } else {
            view! {
                <ul data-testid=test_id>{items.into_iter().map(|item| view! { <li>{item}</li> }).collect_view()}</ul>
            }
            .into_any()
        }
    };
    let sessions = list_or_none(
        user.sessions
            .iter()
            .map(|s| {
                format!(
                    "{} — {}",
                    s.client,
                    fill(t.console_session_times, &[&s.started, &s.last_seen])
                )
            })
            .collect(),
        "sessions",
    );
    let locks = list_or_none(
        user.locks
            .iter()
            .map(|lock| format!("{} — {}", lock.subject, fill(t.lock_until, &[&lock.until])))
            .collect(),
        "locks",
    );
    let grants = list_or_none(
        user.grants
            .iter()
            .map(|grant| format!("{} ({}) — {}", grant.app, grant.scopes, grant.since))
            .collect(),
        "grants",
    );
    let phone = user
        .phone
        .clone()
        .map(|phone| format!("{phone} ({})", verified(user.phone_verified)));
    view! {
        <h1 data-testid="account-name">{user.username.clone()}" "{status_badge(t, user.enabled)}</h1>
        <div class="console-columns">
        <div>
        <h2>{t.profile_heading}</h2>
        <dl class="facts">
            <dt>{t.label_id}</dt><dd>{user.id}</dd>
            <dt>{t.col_email}</dt><dd>{format!("{} ({})", user.email, verified(user.email_verified))}</dd>
            <dt>{t.col_phone}</dt><dd>{phone.unwrap_or_else(|| t.none_listed.to_owned())}</dd>
            <dt>{t.col_plan}</dt><dd>{if user.paid { t.plan_paid } else { t.plan_free }}</dd>
            <dt>{t.label_credits}</dt><dd data-testid="credits">{user.credits.clone()}</dd>
            <dt>{t.label_admin}</dt><dd>{yes_no(user.admin)}</dd>
            <dt>{t.col_created}</dt><dd>{user.created.clone()}</dd>
            <dt>{t.label_updated}</dt><dd>{user.updated.clone()}</dd>
        </dl>
        <h2>{t.factors_heading}</h2>
        {factors}
        <p class="hint">{fill(t.codes_left_line, &[&user.recovery_codes_left.to_string()])}</p>
        <h2>{t.console_sessions_heading}</h2>
        {sessions}
        <h2>{t.locks_heading}</h2>
        {locks}
        <h2>{t.grants_heading}</h2>
        {grants}
        </div>
        <div>
        <h2>{t.actions_heading}</h2>
        <UserActions user=user.clone() />
        </div>
        </div>
        <h2>{t.events_heading}</h2>
        {events_table(user.events)}
        <p class="aside"><a href=format!("/admin/audit?user={}", encode(&user.username))>{t.console_nav_audit}</a></p>
    }
    .into_any()
}

/// The action forms of an account's page, each with its required reason. One server function
/// behind them all, so one alert above them says what went wrong.
#[component]
fn UserActions(user: UserView) -> impl IntoView {
    let t = page_language().text();
    let action = ServerAction::<AdminAct>::new();
    let error = form_error(action);
    let id = user.id;
    let act = move |name: &'static str,
                    label: &'static str,
                    hint: Option<&'static str>,
                    extra: AnyView| {
        view! {
            <details class="action" data-action=name>
                <summary>{label}</summary>
                {hint.map(|hint| view! { <p class="hint">{hint}</p> })}
                <ActionForm action=action>
                    <input type="hidden" name="id" value=id />
                    <input type="hidden" name="action" value=name />
                    {extra}
                    {reason_field(format!("reason-{name}"))}
                    <button type="submit" class="secondary">{label}</button>
                </ActionForm>
            </details>
        }
    };
    let none = || ().into_any();
    let enable_or_disable = if user.enabled {
        (!user.yourself).then(|| {
            act(
                "disable",
                t.action_disable,
                Some(t.action_disable_hint),
                none(),
            )
        })
    } else {
        Some(act("enable", t.action_enable, None, none()))
    };
    let unlock = (!user.locks.is_empty()).then(|| act("unlock", t.action_unlock, None, none()));
    let sessions = (!user.sessions.is_empty())
        .then(|| act("end-sessions", t.action_end_sessions, None, none()));
    let factors: Vec<AnyView> = if user.yourself {
        Vec::new()
    } else {
        user.factors
            .clone()
            .into_iter()
            .map(|factor| {
                if factor.kind == "totp" {
                    act("remove-totp", t.action_remove_totp, None, none()).into_any()
                } else {
                    let label = format!("{} “{}”", t.action_remove_passkey, factor.name);
                    view! {
                        <details class="action" data-action="remove-passkey">
                            <summary>{label.clone()}</summary>
                            <ActionForm action=action>
                                <input type="hidden" name="id" value=id />
                                <input type="hidden" name="action" value="remove-passkey" />
                                <input type="hidden" name="passkey" value=factor.id.clone() />
                                {reason_field(format!("reason-passkey-{}", factor.id))}
                                <button type="submit" class="secondary">{label}</button>
                            </ActionForm>
                        </details>
                    }
                    .into_any()
                }
            })
            .collect()
    };
    let credits = view! {
        <label for="amount">{t.amount_label}</label>
        <input id="amount" name="amount" required inputmode="decimal" maxlength="24" autocomplete="off" />
    }
    .into_any();
    let plan = view! {
        <label for="plan">{t.col_plan}</label>
        <select id="plan" name="plan">
            <option value="paid" selected=!user.paid>{t.plan_paid}</option>
            <option value="free" selected=user.paid>{t.plan_free}</option>
        </select>
    }
    .into_any();
    view! {
        <ActionAlert error=error />
        {user.yourself.then(|| view! { <p class="hint">{t.yourself_hint}</p> })}
        <div class="actions-list">
            {enable_or_disable}
            {unlock}
            {sessions}
            {factors}
            {act("send-reset", t.action_send_reset, None, none())}
            {act("credits", t.action_credits, None, credits)}
            {act("plan", t.action_plan, None, plan)}
            {(!user.yourself).then(|| act("delete", t.action_delete, Some(t.action_delete_hint), none()))}
        </div>
    }
}

fn events_table(events: Vec<EventRowView>) -> impl IntoView {
    let t = page_language().text();
    if events.is_empty() {
        return view! { <p data-testid="no-events">{t.no_events}</p> }.into_any();
    }
    view! {
        <div class="table-scroll">
            <table data-testid="events">
                <thead><tr>
                    <th>{t.col_when}</th><th>{t.col_event}</th><th>{t.col_account}</th>
                    <th>{t.col_actor}</th><th>{t.col_reason}</th><th>{t.col_change}</th>
                    <th>{t.col_from}</th>
                </tr></thead>
                <tbody>
                    {events.into_iter().map(|event| {
                        let account = match (event.account, event.account_id) {
                            (Some(name), Some(id)) => view! { <a href=format!("/admin/users/{id}")>{name}</a> }.into_any(),
                            _ => ().into_any(),
                        };
                        let name = event.event;
                        let marked = name.clone();
                        view! {
                            <tr data-event=marked>
                                <td>{event.at}</td>
                                <td><code>{name}</code>{event.detail.map(|d| view! { " "<span class="hint">{d}</span> })}</td>
                                <td>{account}</td>
                                <td>{event.actor.unwrap_or_default()}</td>
                                <td>{event.reason.unwrap_or_default()}</td>
                                <td><code>{event.change.unwrap_or_default()}</code></td>
                                <td>{event.client_addr.unwrap_or_default()}</td>
                            </tr>
                        }
                    }).collect_view()}
                </tbody>
            </table>
        </div>
    }
    .into_any()
}

/// `/admin/step-up`: a code from the authenticator, or a passkey (with JavaScript), opens
/// changes for ten minutes.
#[component]
pub fn AdminStepUp() -> impl IntoView {
    let t = page_language().text();
    let query = use_query_map();
    let next = move || {
        query
            .with_untracked(|q| q.get("next"))
            .unwrap_or_else(|| "/admin".into())
    };
    let action = ServerAction::<AdminStepUp>::new();
    let error = form_error(action);
    // Whether the visitor may see the console at all.
    let allowed = Resource::new(|| (), |_| admin_header());
    view! {
        <Title text=t.step_up_title />
        <Suspense fallback=|| ()>
            {move || Suspend::new(async move {
                answered(allowed.await, move |_| view! {
                    <section class="card">
                        <h1>{t.step_up_title}</h1>
                        <p>{t.step_up_intro}</p>
                        <ActionAlert error=error />
                        <ActionForm action=action>
                            <input type="hidden" name="next" value=next() />
                            <label for="code">{t.second_factor_code}</label>
                            <input id="code" name="code" inputmode="numeric" autocomplete="one-time-code"
                                required maxlength="16" autofocus />
                            <button type="submit">{t.step_up_button}</button>
                        </ActionForm>
                        {passkeys_offered().then(|| view! {
                            <PasskeyButton kind="step-up" label=t.step_up_with_passkey />
                            <PasskeyScript />
                        })}
                    </section>
                })
            })}
        </Suspense>
    }
}

/// `/admin/audit`: the audit log, filtered, a page at a time, and its CSV export.
#[component]
pub fn AdminAudit() -> impl IntoView {
    let t = page_language().text();
    let query = use_query_map();
    let filters = move || {
        query.with(|q| {
            let get = |name: &str| q.get(name).unwrap_or_default();
            (
                get("user"),
                get("actor"),
                get("event"),
                get("from"),
                get("until"),
                q.get("before").and_then(|b| b.parse::<i64>().ok()),
            )
        })
    };
    let log = Resource::new(filters, |(user, actor, event, from, until, before)| {
        admin_audit(user, actor, event, from, until, before)
    });
    view! {
        <Title text=t.audit_title />
        <Suspense fallback=|| ()>
            {move || Suspend::new(async move {
                let (user, actor, event, from, until, _) = filters();
                answered(log.await, move |log| {
                                        let filter_query = format!(
                        "user={}&actor={}&event={}&from={}&until={}",
                        encode(&user), encode(&actor), encode(&event), encode(&from), encode(&until)
                    );
                    let next = log.next_before.map(|before| view! {
                        <a href=format!("/admin/audit?{filter_query}&before={before}")>{t.next_page}</a>
                    });
                    let field = |id: &'static str, label: &'static str, value: String| view! {
                        <label for=id>{label}</label>
                        <input id=id name=id value=value autocomplete="off" maxlength="64" />
                    };
                    frame(&log.header, "/admin/audit", view! {
                        <h1>{t.audit_title}</h1>
                        <form method="get" action="/admin/audit" class="filters">
                            {field("user", t.filter_account, user.clone())}
                            {field("actor", t.filter_actor, actor.clone())}
                            {field("event", t.filter_event, event.clone())}
                            {field("from", t.filter_from, from.clone())}
                            {field("until", t.filter_until, until.clone())}
                            <button type="submit">{t.filter_button}</button>
                        </form>
                        <p><a href=format!("/admin/audit.csv?{filter_query}") download="latchkey-audit.csv"
                            data-testid="export-csv">{t.export_csv}</a></p>
                        {events_table(log.events)}
                        <p class="pages">{next}</p>
                    }.into_any())
                })
            })}
        </Suspense>
    }
}

/// `/admin/tokens`: admin API tokens: make one (shown once), revoke one.
#[component]
pub fn AdminTokens() -> impl IntoView {
    let t = page_language().text();
    let query = use_query_map();
    let tokens = Resource::new(move || query.get(), |_| admin_tokens());
    let create = ServerAction::<AdminCreateToken>::new();
    let create_error = form_error(create);
    let revoke = ServerAction::<AdminRevokeToken>::new();
    let revoke_error = form_error(revoke);
    view! {
        <Title text=t.tokens_title />
        <Suspense fallback=|| ()>
            {move || Suspend::new(async move {
                answered(tokens.await, move |view| {
                    let shown = view.shown.map(|token| view! {
                        <div class="shown-secret" role="status">
                            <p>{t.token_shown}</p>
                            <p><code data-testid="new-token">{token}</code></p>
                        </div>
                    });
                    let list = if view.tokens.is_empty() {
                        view! { <p>{t.no_tokens}</p> }.into_any()
                    } else {
                        view! {
                            <div class="table-scroll">
                                <table data-testid="tokens">
                                    <thead><tr>
                                        <th>{t.token_name}</th><th>{t.token_access}</th><th>{t.col_status}</th>
                                        <th>{t.col_created}</th><th>{t.col_expires}</th><th>{t.col_last_used}</th><th></th>
                                    </tr></thead>
                                    <tbody>
                                        {view.tokens.into_iter().map(|token| {
                                            let state = match token.state.as_str() {
                                                "live" => t.token_live,
                                                "revoked" => t.token_revoked,
                                                _ => t.token_expired,
                                            };
                                            let live = token.state == "live";
                                            view! {
                                                <tr>
                                                    <td>{token.name}" "<span class="hint">{token.id.clone()}</span></td>
                                                    <td>{if token.read_only { t.access_read } else { t.access_write }}</td>
                                                    <td>{state}</td>
                                                    <td>{token.created}</td>
                                                    <td>{token.expires}</td>
                                                    <td>{token.last_used.unwrap_or_default()}</td>
                                                    <td>{live.then(|| view! {
                                                        <ActionForm action=revoke>
                                                            <input type="hidden" name="id" value=token.id.clone() />
                                                            <button type="submit" class="secondary">{t.token_revoke}</button>
                                                        </ActionForm>
                                                    })}</td>
                                                </tr>
                                            }
                                        }).collect_view()}
                                    </tbody>
                                </table>
                            </div>
                        }
                        .into_any()
                    };
                    frame(&view.header, "/admin/tokens", view! {
                        <h1>{t.tokens_title}</h1>
                        <p>{t.tokens_intro}</p>
                        {shown}
                        <ActionAlert error=revoke_error />
                        {list}
                        <h2>{t.token_create}</h2>
                        <ActionAlert error=create_error />
                        <ActionForm action=create>
                            <label for="token-name">{t.token_name}</label>
                            <input id="token-name" name="name" required maxlength="100" autocomplete="off" />
                            <label for="token-access">{t.token_access}</label>
                            <select id="token-access" name="access">
                                <option value="read">{t.access_read}</option>
                                <option value="write">{t.access_write}</option>
                            </select>
                            <label for="token-days">{t.token_days}</label>
                            <input id="token-days" name="days" type="number" min="1" max="365" value="30" required />
                            <button type="submit">{t.token_create}</button>
                        </ActionForm>
                    }.into_any())
                })
            })}
        </Suspense>
    }
}

/// `/admin/clients`: the apps registered to sign their users in with Latchkey.
#[component]
pub fn AdminClients() -> impl IntoView {
    let t = page_language().text();
    let query = use_query_map();
    let clients = Resource::new(move || query.get(), |_| admin_clients());
    view! {
        <Title text=t.clients_title />
        <Suspense fallback=|| ()>
            {move || Suspend::new(async move {
                answered(clients.await, move |view| {
                    let shown = view.shown.map(|shown| {
                        let (id, secret) = shown.split_once(' ').map(|(a, b)| (a.to_owned(), Some(b.to_owned()))).unwrap_or((shown, None));
                        view! {
                            <div class="shown-secret" role="status">
                                <p>{t.client_shown}</p>
                                <p>{t.client_id_label}": "<code data-testid="new-client-id">{id}</code></p>
                                {secret.map(|secret| view! { <p><code data-testid="new-client-secret">{secret}</code></p> })}
                            </div>
                        }
                    });
                    let list = if view.clients.is_empty() {
                        view! { <p>{t.no_clients}</p> }.into_any()
                    } else {
                        view! {
                            <ul class="clients" data-testid="clients">
                                {view.clients.into_iter().map(|client| view! { <ClientItem client /> }).collect_view()}
                            </ul>
                        }
                        .into_any()
                    };
                    frame(&view.header, "/admin/clients", view! {
                        <h1>{t.clients_title}</h1>
                        <p>{t.clients_intro}</p>
                        {shown}
                        {list}
                        <AddClientForm />
                    }.into_any())
                })
            })}
        </Suspense>
    }
}

fn uri_fields(
    prefix: &str,
    name: &str,
    redirects: &[String],
    logouts: &[String],
    backchannel: &str,
) -> impl IntoView {
    let t = page_language().text();
    let id = |field: &str| format!("{prefix}-{field}");
    view! {
        <label for=id("name")>{t.client_name}</label>
        <input id=id("name") name="name" required maxlength="100" value=name.to_owned() autocomplete="off" />
        <label for=id("redirects")>{t.client_redirects}</label>
        <textarea id=id("redirects") name="redirect_uris" required rows="3">{redirects.join("\n")}</textarea>
        <label for=id("logouts")>{t.client_logout_redirects}</label>
        <textarea id=id("logouts") name="post_logout_redirect_uris" rows="2">{logouts.join("\n")}</textarea>
        <label for=id("backchannel")>{t.client_backchannel}</label>
        <input id=id("backchannel") name="backchannel_logout_uri" value=backchannel.to_owned() autocomplete="off" />
    }
}

#[component]
fn ClientItem(client: ClientView) -> impl IntoView {
    let t = page_language().text();
    let edit = ServerAction::<AdminEditClient>::new();
    let rotate = ServerAction::<AdminRotateClientSecret>::new();
    let remove = ServerAction::<AdminRemoveClient>::new();
    let errors = Signal::derive(move || {
        form_error(edit)
            .get()
            .or_else(|| form_error(rotate).get())
            .or_else(|| form_error(remove).get())
    });
    let id = client.client_id.clone();
    let kind = if client.public {
        t.client_public
    } else {
        t.client_confidential
    };
    let rotate_id = id.clone();
    let rotate_form = (!client.public).then(move || {
        view! {
            <details class="action">
                <summary>{t.client_rotate}</summary>
                <ActionForm action=rotate>
                    <input type="hidden" name="client_id" value=rotate_id.clone() />
                    {reason_field(format!("rotate-reason-{rotate_id}"))}
                    <button type="submit" class="secondary">{t.client_rotate}</button>
                </ActionForm>
            </details>
        }
    });
    let (edit_id, remove_id, shown_id) = (id.clone(), id.clone(), id.clone());
    let edit_fields = uri_fields(
        &format!("edit-{id}"),
        &client.name,
        &client.redirect_uris,
        &client.post_logout_redirect_uris,
        client.backchannel_logout_uri.as_deref().unwrap_or(""),
    );
    view! {
        <li data-client=id>
            <strong>{client.name.clone()}</strong>" "<code>{shown_id}</code>
            <p class="hint">{kind}{client.first_party.then_some(" · ")}{client.first_party.then_some(t.client_first_party)}</p>
            <ul class="hint">{client.redirect_uris.iter().map(|uri| view! { <li>{uri.clone()}</li> }).collect_view()}</ul>
            <ActionAlert error=errors />
            <details class="action">
                <summary>{t.client_edit}</summary>
                <ActionForm action=edit>
                    <input type="hidden" name="client_id" value=edit_id.clone() />
                    {edit_fields}
                    {reason_field(format!("edit-reason-{edit_id}"))}
                    <button type="submit">{t.client_save}</button>
                </ActionForm>
            </details>
            {rotate_form}
            <details class="action">
                <summary>{t.client_remove}</summary>
                <ActionForm action=remove>
                    <input type="hidden" name="client_id" value=remove_id.clone() />
                    {reason_field(format!("remove-reason-{remove_id}"))}
                    <button type="submit" class="secondary">{t.client_remove}</button>
                </ActionForm>
            </details>
        </li>
    }
}

#[component]
fn AddClientForm() -> impl IntoView {
    let t = page_language().text();
    let add = ServerAction::<AdminAddClient>::new();
    let error = form_error(add);
    view! {
        <h2>{t.client_add_heading}</h2>
        <ActionAlert error=error />
        <ActionForm action=add>
            {uri_fields("add", "", &[], &[], "")}
            <fieldset>
                <legend>{t.client_kind}</legend>
                <label><input type="radio" name="kind" value="confidential" checked />" "{t.client_confidential}</label>
                <label><input type="radio" name="kind" value="public" />" "{t.client_public}</label>
            </fieldset>
            <label><input type="checkbox" name="first_party" value="yes" />" "{t.client_first_party}</label>
            {reason_field("add-reason".to_owned())}
            <button type="submit">{t.client_add}</button>
        </ActionForm>
    }
}
