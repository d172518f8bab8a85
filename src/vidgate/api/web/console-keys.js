// The console's keys: the table (role, state, spend, budget) and what can be done to a key:
// make one (its token shown once), change its role, set its budget, revoke it.
import { api } from "./api.js";
import { $, copyText, el } from "./dom.js";
import { amount } from "./console-format.js";

let onChange = () => {};

function showError(error) {
  const box = $("keys-error");
  box.textContent = error ? error.message : "";
  box.hidden = !error;
}

async function act(path, options) {
  showError(null);
  try {
    await api(path, options);
    await onChange();
  } catch (error) {
    showError(error);
  }
}

function budgetText(budget) {
  if (!budget) return "none";
  const parts = [];
  if (budget.dailyCredits !== null) parts.push(`${amount(budget.dailyCredits)}/day`);
  if (budget.monthlyCredits !== null) parts.push(`${amount(budget.monthlyCredits)}/month`);
  return parts.join(", ") || "none";
}

function spendText(spend) {
  const reserved = spend.reservedCredits ? ` (+${amount(spend.reservedCredits)} reserved)` : "";
  return `${amount(spend.spentCredits)}${reserved}`;
}

// A small form in the row: daily and monthly limits, empty for none.
function budgetForm(key) {
  const path = `/v1/admin/keys/${encodeURIComponent(key.id)}/budget`;
  const input = (name, label, value) =>
    el("input", {
      type: "number", min: "0", step: "any", name, inputMode: "decimal", className: "budget-input",
      value: value === null || value === undefined ? "" : String(value), "aria-label": `${label} of ${key.name}`,
      placeholder: label,
    });
  const daily = input("daily", "Per day", key.budget && key.budget.dailyCredits);
  const monthly = input("monthly", "Per month", key.budget && key.budget.monthlyCredits);
  const form = el("form", { className: "budget-form", noValidate: true }, daily, monthly,
    el("button", { type: "submit", className: "small", text: "Set" }));
  const number = (field) => (field.value.trim() === "" ? null : Number(field.value));
  form.addEventListener("submit", (event) => {
    event.preventDefault();
    act(path, { method: "PUT", json: { dailyCredits: number(daily), monthlyCredits: number(monthly) } });
  });
  return form;
}

function row(key) {
  const path = `/v1/admin/keys/${encodeURIComponent(key.id)}`;
  const actions = el("div", { className: "actions" });
  if (key.state === "active") {
    const other = key.role === "admin" ? "user" : "admin";
    const roleButton = el("button", {
      type: "button", className: "small", text: other === "admin" ? "Make admin" : "Make plain",
    });
    roleButton.addEventListener("click", () => act(`${path}/role`, { method: "PUT", json: { role: other } }));
    const revoke = el("button", { type: "button", className: "small danger", text: "Revoke" });
    revoke.addEventListener("click", () => {
      if (window.confirm(`Revoke the key ${key.name} (${key.id})? Its next request is refused.`)) {
        act(`${path}/revoke`, { method: "POST" });
      }
    });
    actions.append(roleButton, revoke);
  }
  return el("tr", { dataset: { key: key.id } },
    el("td", { text: key.name }),
    el("td", {}, el("code", { text: key.id })),
    el("td", { text: key.role, className: key.role === "admin" ? "role-admin" : "" }),
    el("td", { text: key.state === "active" ? "active" : `revoked ${key.revokedAt.slice(0, 10)}` }),
    el("td", { text: spendText(key.today) }),
    el("td", { text: spendText(key.month) }),
    el("td", {}, el("span", { className: "budget-text", text: budgetText(key.budget) }),
      key.state === "active" ? budgetForm(key) : null),
    el("td", {}, actions),
  );
}

// Shows `keys` (GET /v1/admin/keys data) in the table.
export function renderKeys(keys) {
  $("keys").tBodies[0].replaceChildren(...keys.map(row));
}

// Wires the create form; `changed(created)` reloads what a change to the keys affects (`created`:
// the key just made, with its token, if one was).
export function wireKeys(changed) {
  onChange = changed;
  const form = $("create-key");
  form.addEventListener("submit", async (event) => {
    event.preventDefault();
    const name = $("new-key-name");
    const problem = $("err-name");
    problem.hidden = true;
    name.removeAttribute("aria-invalid");
    showError(null);
    try {
      const created = await api("/v1/admin/keys", {
        method: "POST",
        json: { name: name.value, role: $("new-key-admin").checked ? "admin" : "user" },
      });
      $("new-token-id").textContent = `${created.id} (${created.name}, ${created.role})`;
      $("new-token-value").textContent = created.token;
      $("new-token").hidden = false;
      name.value = "";
      await onChange(created);
    } catch (error) {
      const field = error.fields.find((f) => f.path === "name");
      if (field) {
        problem.textContent = field.message;
        problem.hidden = false;
        name.setAttribute("aria-invalid", "true");
        name.focus();
      } else {
        showError(error);
      }
    }
  });
  $("new-token-copy").addEventListener("click", (event) =>
    copyText(event.currentTarget, $("new-token-value").textContent),
  );
}
