// Accounts: filter by role, status and email prefix; per account, change its role (the
// only way to make another admin) and its status (a disabled account cannot sign in).
import { useState } from "preact/hooks";
import { type User, Role, UserStatus } from "../../gen/mart/user/v1/user_pb.js";
import { href } from "../../lib/route.js";
import { type Problem, problemOf } from "../../lib/problems.js";
import { Empty, FormError, Loading, useLoad } from "../../ui/ui.js";
import { api } from "../api.js";
import { Input, SelectField, enumLabel, formatTime } from "../controls.js";

const ROLES = [Role.USER, Role.ADMIN] as const;
const STATUSES = [UserStatus.ACTIVE, UserStatus.DISABLED] as const;

export function UsersPage({ me }: { me: User }) {
  const [role, setRole] = useState("");
  const [status, setStatus] = useState("");
  const [prefix, setPrefix] = useState("");
  const [applied, setApplied] = useState("");
  const [tokens, setTokens] = useState<string[]>([""]);
  const pageToken = tokens[tokens.length - 1] ?? "";
  const [loaded, setLoaded] = useLoad(
    () =>
      api.users.listUsers({
        role: role ? Number(role) : Role.UNSPECIFIED,
        status: status ? Number(status) : UserStatus.UNSPECIFIED,
        emailPrefix: applied,
        pageSize: 20,
        pageToken,
      }),
    [role, status, applied, pageToken],
  );

  return (
    <main class="page">
      <h1>Users</h1>
      <form
        class="filters-row"
        aria-label="Filter users"
        onSubmit={(e) => {
          e.preventDefault();
          setTokens([""]);
          setApplied(prefix.trim());
        }}
      >
        <Input label="Email starts with" name="email_prefix" type="search" value={prefix} onInput={setPrefix} />
        <SelectField
          label="Role"
          name="role"
          value={role}
          onChange={(r) => (setTokens([""]), setRole(r))}
          options={[["", "Any role"], ...ROLES.map((r) => [String(r), enumLabel(Role[r])] as const)]}
        />
        <SelectField
          label="Status"
          name="status"
          value={status}
          onChange={(s) => (setTokens([""]), setStatus(s))}
          options={[["", "Any status"], ...[...STATUSES, UserStatus.DELETED].map((s) => [String(s), enumLabel(UserStatus[s])] as const)]}
        />
        <button type="submit">Filter</button>
      </form>
      {loaded.state === "loading" && <Loading what="users" />}
      {loaded.state === "failed" && <FormError problem={loaded.problem} />}
      {loaded.state === "ok" && loaded.value.users.length === 0 && <Empty>No accounts match.</Empty>}
      {loaded.state === "ok" && loaded.value.users.length > 0 && (
        <>
          <ul class="rows" aria-label="Accounts">
            {loaded.value.users.map((u) => (
              <UserRow
                key={u.id}
                user={u}
                self={u.id === me.id}
                onChanged={(changed) => setLoaded({ ...loaded.value, users: loaded.value.users.map((x) => (x.id === changed.id ? changed : x)) })}
              />
            ))}
          </ul>
          <nav class="pager" aria-label="Pages">
            <button type="button" disabled={tokens.length <= 1} onClick={() => setTokens(tokens.slice(0, -1))}>
              Previous page
            </button>
            <span>Page {tokens.length}</span>
            <button type="button" disabled={!loaded.value.nextPageToken} onClick={() => setTokens([...tokens, loaded.value.nextPageToken])}>
              Next page
            </button>
          </nav>
        </>
      )}
    </main>
  );
}

function UserRow({ user, self, onChanged }: { user: User; self: boolean; onChanged: (user: User) => void }) {
  const [role, setRole] = useState(String(user.role));
  const [status, setStatus] = useState(String(user.status));
  const [busy, setBusy] = useState(false);
  const [problem, setProblem] = useState<Problem>();
  const [done, setDone] = useState("");
  const deleted = user.status === UserStatus.DELETED;

  async function save(e: Event) {
    e.preventDefault();
    setBusy(true);
    setProblem(undefined);
    setDone("");
    try {
      let changed = user;
      if (Number(role) !== changed.role) changed = (await api.users.setUserRole({ userId: user.id, role: Number(role) })).user ?? changed;
      if (Number(status) !== changed.status) changed = (await api.users.setUserStatus({ userId: user.id, status: Number(status) })).user ?? changed;
      setDone("Saved.");
      onChanged(changed);
    } catch (error) {
      setProblem(problemOf(error));
    } finally {
      setBusy(false);
    }
  }

  const name = `${user.firstName} ${user.lastName}`.trim();
  return (
    <li class="row user" data-email={user.email}>
      <div class="row-main">
        <strong>{user.email}</strong>
        {self && <span class="badge">you</span>}
        <div class="hint">
          {name || "No name"} · joined {formatTime(user.createdAt)} · <a href={href(["orders"], { user: user.id })}>Orders</a>
        </div>
      </div>
      {deleted ? (
        <p class="hint">Deleted by its owner.</p>
      ) : (
        <form class="inline" onSubmit={save} noValidate aria-label={`Change ${user.email}`}>
          <SelectField
            label="Role"
            name="role"
            value={role}
            onChange={setRole}
            problem={problem}
            options={ROLES.map((r) => [String(r), enumLabel(Role[r])] as const)}
          />
          <SelectField
            label="Status"
            name="status"
            value={status}
            onChange={setStatus}
            problem={problem}
            options={STATUSES.map((s) => [String(s), enumLabel(UserStatus[s])] as const)}
          />
          <button type="submit" disabled={busy || (Number(role) === user.role && Number(status) === user.status)} aria-label={`Save ${user.email}`}>
            Save
          </button>
          {done && <span class="ok" role="status">{done}</span>}
        </form>
      )}
      <FormError problem={problem} shown={["role", "status"]} />
    </li>
  );
}
