// IAM decisions for the local stack (simulator.py): one JSON request a line on stdin, one JSON answer
// a line on stdout, matched by id; answers go out as they complete, not necessarily in order.
// Request: {id, principal, action, resource, context, identityPolicies: [{name, policy}], resourcePolicy}
// Answer:  {id, result, deniedBy, ignoredContextKeys} | {id, errors} (invalid request) | {id, error} (crash)
import { createInterface } from 'node:readline'
import { getDenialReasons, runSimulation } from '@cloud-copilot/iam-simulate'

const ACCOUNT_ID = '123456789012' // the local stack's one account: principals and resources alike

async function decide(request) {
  const response = await runSimulation(
    {
      request: {
        principal: request.principal,
        action: request.action,
        resource: { resource: request.resource, accountId: ACCOUNT_ID },
        contextVariables: request.context ?? {}
      },
      identityPolicies: request.identityPolicies ?? [],
      serviceControlPolicies: [],
      resourceControlPolicies: [],
      resourcePolicy: request.resourcePolicy ?? undefined
    },
    { simulationMode: 'Strict' }
  )
  if (response.resultType === 'error') {
    return { errors: response.errors }
  }
  if (response.resultType !== 'single') {
    return { errors: { message: `a wildcard resource is a pattern, not a request: ${request.resource}` } }
  }
  // AWS's message names one policy type: an explicit deny's, else the first implicit (identity, then resource).
  const denials = getDenialReasons(response.result.analysis)
  const decisive = denials.find((denial) => denial.denialType === 'Explicit') ?? denials[0]
  return {
    result: response.overallResult,
    deniedBy: decisive?.policyType ?? null,
    ignoredContextKeys: response.result.ignoredContextKeys ?? []
  }
}

async function answer(line) {
  let id = null
  try {
    const request = JSON.parse(line)
    id = request.id
    return { id, ...(await decide(request)) }
  } catch (error) {
    return { id, error: String(error) }
  }
}

const lines = createInterface({ input: process.stdin, crlfDelay: Infinity })
lines.on('line', (line) => {
  if (line.trim()) {
    answer(line).then((reply) => process.stdout.write(JSON.stringify(reply) + '\n'))
  }
})
