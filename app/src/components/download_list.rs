//! The list of this browser's downloads (hidden while empty); the rows and
//! the list's state are in [`crate::downloads`].

use crate::downloads::{DownloadRow, Downloads};
use crate::prefs::t;
use leptos::prelude::*;

#[component]
pub fn DownloadList() -> impl IntoView {
    let downloads = expect_context::<Downloads>();
    view! {
        <section
            class="downloads"
            aria-labelledby="downloads-heading"
            hidden=move || downloads.list.with(Vec::is_empty)
        >
            <div class="downloads-head">
                <h2 id="downloads-heading" tabindex="-1">
                    {t(|t| t.downloads)}
                    <span class="count">{move || downloads.list.with(Vec::len)}</span>
                </h2>
                <Show when=move || downloads.any_finished()>
                    <button type="button" class="ghost" on:click=move |_| downloads.clear_finished()>
                        {t(|t| t.clear_finished)}
                    </button>
                </Show>
            </div>
            <ul class="download-list" data-testid="downloads">
                <For each=move || downloads.list.get() key=|entry| entry.id.clone() let:entry>
                    <DownloadRow entry/>
                </For>
            </ul>
        </section>
    }
}
