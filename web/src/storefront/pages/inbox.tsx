// The customer's inbox (NotificationService.ListNotifications), newest first; opening a
// message marks it read.
import { useState } from "preact/hooks";
import type { Notification } from "../../gen/mart/notify/v1/notify_pb.js";
import { href } from "../../lib/route.js";
import { api, session } from "../api.js";
import { Empty, FormError, Loading, useLoad, useSignedIn } from "../../ui/ui.js";

export function InboxPage() {
  const signedIn = useSignedIn(session);
  const [tokens, setTokens] = useState<string[]>([""]);
  const pageToken = tokens[tokens.length - 1] ?? "";
  const [loaded, , reload] = useLoad(
    () => (signedIn ? api.notifications.listNotifications({ pageSize: 20, pageToken }) : Promise.resolve(undefined)),
    [signedIn, pageToken],
  );
  if (!signedIn)
    return (
      <main class="page">
        <p>
          <a href="#/signin">Sign in</a> to read your messages.
        </p>
      </main>
    );
  return (
    <main class="page inbox">
      <h1>Inbox</h1>
      <button type="button" onClick={reload}>
        Refresh
      </button>
      {loaded.state === "loading" && <Loading what="your messages" />}
      {loaded.state === "failed" && <FormError problem={loaded.problem} />}
      {loaded.state === "ok" && loaded.value && (
        <>
          <p>
            {loaded.value.unreadCount} unread
          </p>
          {loaded.value.notifications.length === 0 && <Empty>No messages yet.</Empty>}
          <ul class="messages">
            {loaded.value.notifications.map((n) => (
              <Message key={n.id} n={n} />
            ))}
          </ul>
          <nav class="pager" aria-label="Pages">
            <button type="button" disabled={tokens.length <= 1} onClick={() => setTokens(tokens.slice(0, -1))}>
              Previous page
            </button>
            <button
              type="button"
              disabled={!loaded.value.nextPageToken}
              onClick={() => setTokens([...tokens, loaded.value!.nextPageToken])}
            >
              Next page
            </button>
          </nav>
        </>
      )}
    </main>
  );
}

function Message({ n }: { n: Notification }) {
  const [read, setRead] = useState(n.read);
  return (
    <li class={read ? "message" : "message unread"}>
      <details
        onToggle={(e) => {
          if ((e.currentTarget as HTMLDetailsElement).open && !read) {
            setRead(true);
            void api.notifications.markNotificationRead({ notificationId: n.id }).catch(() => setRead(false));
          }
        }}
      >
        <summary>
          <span class="subject">{n.subject}</span>
          {!read && <span class="badge">new</span>}
          {n.createdAt && <time>{new Date(Number(n.createdAt.seconds) * 1000).toLocaleString()}</time>}
        </summary>
        <p class="body">{n.body}</p>
        {n.orderId && <a href={href(["order", n.orderId])}>View the order</a>}
      </details>
    </li>
  );
}
