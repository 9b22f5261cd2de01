//! Below the form: what the lookup found, or what it is doing, or why it
//! failed, or (before anything was asked) what to do.

use super::card::ErrorBox;
use super::video_card::VideoCard;
use crate::i18n::Failure;
use crate::lookup::{LinkLookup, Lookup};
use crate::prefs::t;
use leptos::either::EitherOf4;
use leptos::prelude::*;

#[component]
pub fn LookupResult(lookup: LinkLookup) -> impl IntoView {
    view! {
        <div class="result" aria-busy=move || lookup.busy().to_string()>
            {move || match lookup.state.get() {
                Lookup::Idle => EitherOf4::A(view! { <Intro/> }),
                Lookup::Loading => {
                    EitherOf4::B(
                        view! {
                            <CardSkeleton/>
                            <p class="notice no-js-only">{t(|t| t.needs_script)}</p>
                        },
                    )
                }
                Lookup::Failed(failure) => EitherOf4::C(view! { <LookupError failure/> }),
                Lookup::Ready { url, info } => EitherOf4::D(view! { <VideoCard url info/> }),
            }}
        </div>
    }
}

/// What to do, before anything was looked up.
#[component]
fn Intro() -> impl IntoView {
    let steps = [t(|t| t.steps[0]), t(|t| t.steps[1]), t(|t| t.steps[2])];
    view! {
        <ol class="intro">
            {steps
                .into_iter()
                .enumerate()
                .map(|(i, step)| {
                    view! {
                        <li>
                            <span class="intro-n" aria-hidden="true">{i + 1}</span>
                            <span>{step}</span>
                        </li>
                    }
                })
                .collect_view()}
        </ol>
    }
}

#[component]
fn LookupError(failure: Failure) -> impl IntoView {
    view! { <ErrorBox failure testid="lookup-error"/> }
}

/// A grey outline of the card while the server asks the site: the same
/// sizes as the card, so nothing jumps when it arrives.
#[component]
fn CardSkeleton() -> impl IntoView {
    view! {
        <article class="card skeleton js-only" aria-label=t(|t| t.loading_details)>
            <div class="card-top">
                <div class="thumb"></div>
                <div class="card-body">
                    <div class="line wide"></div>
                    <div class="line wide second"></div>
                    <div class="stats-skel">
                        <div class="line short"></div>
                        <div class="line short"></div>
                        <div class="line short"></div>
                    </div>
                </div>
            </div>
            <div class="choices-skel">
                <div class="chip"></div>
                <div class="chip"></div>
                <div class="chip"></div>
                <div class="chip"></div>
            </div>
        </article>
    }
}
