/** The policy the demo starts with (written once; later edits are kept and hot-reloaded). */
export const DEMO_POLICY = `# Airlock demo policy. Edit it while the demo runs: a valid change applies to the next request,
# an invalid one is refused (the connector logs file, line and field) and the previous policy stays.
version: 1
defaultTier: approve          # a tool no rule names waits for a human
catalog:
  mode: tofu                  # pin each tool definition the first time it is seen; a change is quarantined
identities:
  - name: demo-agent          # the client certificate the demo issued
    roles: [operator]
roles:
  operator:
    tools: ["erp.*", "everything.*"]
    resources: ["**"]
    prompts: ["**"]
tools:                        # the first rule with a tier decides
  - match: erp.delete_customer
    tier: approve
  - match: erp.adjust_invoice_status
    tier: approve
  - match: erp.search_customers
    tier: auto
    schema:                   # tighter than the upstream's own schema
      properties:
        limit: { maximum: 20 }
  - match: "erp.*"
    tier: auto
  - match: "everything.*"
    tier: auto
limits:
  rate: { perSecond: 20, burst: 40 }
  turnBudget: 500
pii:
  actions: {}                 # defaults: personal data tokenized, secrets masked
`;
