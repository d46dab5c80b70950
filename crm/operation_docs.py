"""Integrator-facing summary and description of every API operation that
does not carry its own in an `extend_schema` (crm.openapi.CrmAutoSchema reads
this table by operationId, before falling back to the view's docstring, which
is written for maintainers). tests/crm/test_schema.py fails when an operation
has no summary or description, or shares its description with another one,
or when an entry here names no operation.

Each entry: operationId -> (summary, description). Descriptions say what the
call does, what it answers and its notable errors; docs/api.md has the rest.
"""

OPERATIONS: dict[str, tuple[str, str]] = {
    # -- probes ---------------------------------------------------------------
    "healthz": ("Readiness probe", "200 when the database, the broker (a worker answering a ping, unless "
                "HEALTHZ_CHECK_WORKERS=false) and the file storage answer; 503 naming what is down. No token."),
    "livez": ("Liveness probe", "200 as long as the process answers; touches nothing else, so a slow database "
              "never gets the process restarted. No token."),
    # -- account --------------------------------------------------------------
    "me_retrieve": ("The caller: user, workspace and role",
                    "The token's user, its workspace and the user's role in it (admin or member). A cheap call to "
                    "check a token."),
    "users_list": ("List the workspace's members",
                   "Every member with their role, as a plain array (not paginated): the ids owner_id, "
                   "default_agent_id and sub_owner_ids of contacts refer to."),
    "users_create": ("Add a member", "Admins only. Adds the user with this email (created when no user has it; the "
                     "names are used only then) with a role (member by default). 201 with the member; 409 "
                     "`already_member`."),
    "users_retrieve": ("Get a member", "One member of the workspace with their role; 404 for anyone else."),
    "users_partial_update": ("Change a member's role", "Admins only. `{\"role\": \"admin\"}` or `member`. Demoting "
                             "the workspace's last admin is a 409 `last_admin`."),
    "users_destroy": ("Remove a member", "Admins only. Removes the member from the workspace and revokes their "
                      "tokens for it (204). Removing the last admin is a 409 `last_admin`. Takes no body."),
    # -- tokens ---------------------------------------------------------------
    "tokens_list": ("List API tokens", "Admins only. The workspace's tokens, newest first, paginated; never the "
                    "secrets (`token_prefix` tells them apart)."),
    "tokens_create": ("Issue an API token", "Admins only. `{name, expires_at?, user_id?}`: for the caller, or for "
                      "a member given by user_id. 201; the secret (`token`) is in this answer only. An expires_at "
                      "in the past is a 400."),
    "tokens_destroy": ("Revoke an API token", "Admins only. The token answers 401 from then on; 200 with the token "
                       "and its revoked_at. Takes no body."),
    # -- contacts ---------------------------------------------------------------
    "contacts_list": ("List contacts", "Contacts the caller may see, newest first unless `sort` says otherwise; "
                      "page mode (totalRecords) or cursor mode (`cursor=`, signed nextCursor, capped count). "
                      "Archived contacts only with is_deleted=true. `columns` narrows each item's keys."),
    "contacts_create": ("Create a contact", "201 with the whole contact and its ETag. Every field is optional; "
                        "phones are stored in E.164 (parsed with country_code, else the workspace's region); the "
                        "seeds' names are accepted as aliases. Unknown keys are a 400 `unknown_field`; an "
                        "external_client_id another contact has is a 409."),
    "contacts_retrieve": ("Get a contact", "One contact the caller may see (archived ones too), with its ETag. "
                          "404 for one of another workspace or one the caller may not see."),
    "contacts_update": ("Replace a contact (PUT)", "Every writable field omitted goes back to its default "
                        "(owner_id excepted). A body read with GET can be sent back: its read-only keys are "
                        "ignored. If-Match makes it conditional (412 when stale)."),
    "contacts_partial_update": ("Update a contact (PATCH)", "Changes only the fields given; 200 with the whole "
                                "contact and its new ETag. If-Match makes it conditional (412 when stale); "
                                "view-only contacts are a 403."),
    "contacts_destroy": ("Archive or erase a contact", "Archives (200 with deleted_at and archived_by). With "
                         "permanent=true (admins) erases for good: 204, or 409 `has_conversations` while the "
                         "contact has conversations unless cascade=true. Takes no body."),
    "contacts_restore": ("Restore an archived contact", "Clears deleted_at and archived_by: 200 with the contact. "
                         "Restoring an active contact changes nothing. Takes no body."),
    "contacts_bulk_update": ("Bulk update contacts", "Sets label, owner, stage, visibility or tags of up to "
                             "10,000 contacts (`ids`) in one statement, all or nothing: ids the caller may not "
                             "edit or see are a 404 listing them, and nothing changes. Answers {updated}."),
    "contacts_multiple": ("Get contacts by ids", "`{contact_ids: [...]}` (up to 1,000): a bare array in request "
                          "order; unknown ids and contacts the caller may not see are left out."),
    "contacts_upsert": ("Create or update a contact by external_client_id", "201 when no contact has the "
                        "external_client_id (required), else a partial update of that contact (200), restoring it "
                        "when archived. Concurrent calls with the same id never make two contacts."),
    "contacts_batch": ("Write up to 1,000 contacts with a result per item", "action create, upsert (match_on "
                       "external_client_id, email or phone), update or archive. 200 when every item succeeded, 207 "
                       "with each item's errors otherwise; all_or_nothing=true turns a failing item into a 422 "
                       "`batch_failed` with nothing written."),
    "contacts_search": ("Search contacts", "OR'ed groups of AND'ed filters over any contact field or custom field "
                        "(typed operators), free text, sort, columns, or a saved view (view_id); keyset pages with "
                        "a signed nextCursor and a capped total. Unknown keys and fields are 400s naming them."),
    "contacts_history": ("A contact's history", "The contact's events, newest first, with who changed what; "
                         "follows the contact's visibility (404 when the caller may not see it)."),
    "contacts_duplicate_groups": ("List groups of duplicate contacts", "Groups of active contacts the caller "
                                  "may see that share a normalized email, an E.164 phone or an external id (any "
                                  "case), with up to 50 contacts each; cursor pages of groups."),
    "contacts_duplicates": ("A contact's likely duplicates", "Contacts that share this one's email, phone or "
                            "external id (at most 100, by id), each with the reasons it matched."),
    "contacts_merge": ("Merge contacts into this one", "Folds up to 9 other contacts into this one (their "
                       "conversations, tags and empty fields move here; they are archived); dry_run=true answers "
                       "the result without writing. 409 when a contact was merged before or this one is "
                       "archived."),
    # -- custom fields ----------------------------------------------------------
    "contact_custom_fields_list": ("List custom field definitions", "The workspace's custom contact fields, with "
                                   "their generated code (D-0000013), shortName, type and options. Members read."),
    "contact_custom_fields_create": ("Create a custom field", "Admins only. `{label, shortName?, type?, options?, "
                                     "module?}`; the code is generated. 201. A shortName another definition has "
                                     "is a 400 naming shortName."),
    "contact_custom_fields_retrieve": ("Get a custom field definition", "One definition of the workspace, with "
                                       "its ETag."),
    "contact_custom_fields_update": ("Replace a custom field definition", "Admins only. Omitted optional fields "
                                     "go back to their defaults; code is read-only. If-Match makes it conditional."),
    "contact_custom_fields_partial_update": ("Update a custom field definition", "Admins only. Changes the "
                                             "fields given (label, shortName, options...). If-Match makes it "
                                             "conditional."),
    "contact_custom_fields_destroy": ("Delete a custom field definition", "Admins only. 204; contacts' values under "
                                      "its code are no longer returned. Takes no body."),
    # -- labels -----------------------------------------------------------------
    "contact_labels_retrieve": ("Get a label", "One label of the workspace (name, color, icon, owner, is_default), "
                                "with its ETag."),
    "contact_labels_update": ("Replace a label", "Sets name, color, icon and owner_id; read-only keys of a GET "
                              "body are ignored. A name another label has (any case) is a 400 `unique`. If-Match makes it "
                              "conditional."),
    "contact_labels_partial_update": ("Update a label", "Changes the fields given. A name another label has is a "
                                      "400 `unique`. If-Match makes it conditional."),
    # -- tags -------------------------------------------------------------------
    "tags_retrieve": ("Get a tag", "One tag of the workspace (type, tag, order, description), with its ETag."),
    "tags_update": ("Replace a tag", "Sets tag, order and description; `type` is fixed once the tag exists (a "
                    "different one is a 400). A value another tag of the type has (any case) is a 400 `unique`."),
    # -- saved views --------------------------------------------------------------
    "contact_views_list": ("List saved views", "The caller's saved contact views and the workspace's shared ones."),
    "contact_views_create": ("Save a view", "A named search (what POST /contacts/search takes), its sort and "
                             "columns; private unless shared=true. The search is checked now: a 400 names the "
                             "offending path."),
    "contact_views_retrieve": ("Get a saved view", "One of the caller's views or a shared one."),
    "contact_views_update": ("Replace a saved view", "Only its owner may change it. Omitted fields go back to "
                             "their defaults. If-Match makes it conditional."),
    "contact_views_partial_update": ("Update a saved view", "Only its owner may change it; changes the fields "
                                     "given. If-Match makes it conditional."),
    "contact_views_destroy": ("Delete a saved view", "Only its owner may delete it: 204. Takes no body."),
    # -- messaging -------------------------------------------------------------
    "integrations_list": ("List integrations", "The workspace's channels (provider, config, active, has_secret, "
                          "status_url), paginated. Members read."),
    "integrations_create": ("Create an integration", "Admins only. `{name, provider, config?, secret?, active?}`; "
                            "the config is checked against the provider (unknown settings are a 400). The secret "
                            "is write-only. 201."),
    "integrations_retrieve": ("Get an integration", "One integration, with its ETag; the secret is never shown "
                              "(has_secret)."),
    "integrations_partial_update": ("Update an integration", "Admins only. Changes the fields given; "
                                    "active=false stops new messages through it. If-Match makes it conditional."),
    "integrations_destroy": ("Delete an integration", "Admins only. 204; one that has conversations is a 409 "
                             "`in_use` (set active=false instead). Takes no body."),
    "conversations_list": ("List conversations", "The conversations of contacts the caller may see, "
                           "paginated; filters contact_id, integration_id and status."),
    "conversations_create": ("Open a conversation", "`{contact_id, integration_id}`: 201. The contact must be one "
                             "the caller may see; a second open conversation of the pair is a 409 with its id."),
    "conversations_retrieve": ("Get a conversation", "One conversation (status, last_message_at), with its ETag."),
    "conversations_partial_update": ("Open or close a conversation", "`{\"status\": \"open\" | \"closed\"}`. "
                                     "A conflicting open conversation of the pair is a 409. If-Match makes it "
                                     "conditional."),
    "conversation_messages_list": ("List a conversation's messages", "Newest first, cursor pages only (a signed "
                                   "nextCursor); filters type and status."),
    "conversation_messages_add": ("Add a message to a conversation", "addMessage: text or media goes out through "
                                  "the conversation's integration on a worker (status pending, then sent or "
                                  "failed); type note is stored, never sent. 201 with the message."),
    "messages_retrieve": ("Get a message", "One message of a conversation the caller may see, with its delivery "
                          "state (status, external_message_id, error)."),
    "notifications_send": ("Send a template notification", "sendNotification: the template goes to the contact "
                           "(client_id) or phone through the integration, opening a conversation when needed; "
                           "placeholders like {{name}} are filled from the contact. 201 with the message."),
    # -- events and webhooks ---------------------------------------------------
    "events_feed": ("The events feed", "Admins only. The workspace's events in commit order, from the oldest kept "
                    "or after the event id you give (`after`); resume with the last id. Filter by type."),
    "webhooks_list": ("List webhook endpoints", "Admins only. The workspace's endpoints, their event types, "
                      "batch size and health (disabled_reason, failing_since); never the secret."),
    "webhooks_create": ("Create a webhook endpoint", "Admins only. `{url, description?, event_types?, active?, "
                        "batch_size?}`; an http(s) URL. 201; the signing secret is in this "
                        "answer only."),
    "webhooks_retrieve": ("Get a webhook endpoint", "One endpoint and its health, with its ETag."),
    "webhooks_partial_update": ("Update a webhook endpoint", "Admins only. Changes the fields given; active=true "
                                "re-enables an endpoint disabled after failures. If-Match makes it conditional."),
    "webhooks_destroy": ("Delete a webhook endpoint", "Admins only. 204; its delivery log goes with it. Takes "
                         "no body."),
    "webhooks_deliveries": ("An endpoint's delivery log", "Admins only. Newest first: each delivery's event, "
                            "status, next attempt and every attempt (status code, duration, error excerpt)."),
    "webhooks_delivery_retry": ("Retry a delivery now", "Admins only. Sends the delivery again at once with a "
                                "fresh retry window: 202 with the delivery. Takes no body."),
    "webhooks_rotate_secret": ("Rotate an endpoint's signing secret", "Admins only. A new secret, in this answer "
                               "only; the old one keeps signing beside it for 24 hours. Takes no body."),
    "webhooks_test": ("Send a test event", "Admins only. Queues a webhook.test event to this endpoint: 202 with "
                      "the delivery; a disabled endpoint is a 400 `inactive`. Takes no body."),
    # -- privacy -----------------------------------------------------------------
    "privacy_erasures_list": ("List erasure receipts", "Admins only. The workspace's erasures on request, newest "
                              "first: what was erased (counts), by which identifier and whom; never the value."),
    "privacy_erasures_retrieve": ("Get an erasure receipt", "Admins only. One erasure's receipt: counts of erased "
                                  "contacts, conversations, messages and import rows, and the suppression it "
                                  "added."),
    # -- imports ---------------------------------------------------------------
    "import_jobs_list": ("List import jobs", "The workspace's import jobs, newest first, paginated, with status "
                         "and counters."),
    "import_files_list": ("List uploaded import files", "The workspace's uploaded CSV files, newest first, "
                          "paginated: file_name (what validate and import take), original name and size."),
    "import_files_destroy": ("Delete an uploaded import file", "204; a file a queued or running job uses is a 409 "
                             "`file_in_use`. Takes no body."),
}
