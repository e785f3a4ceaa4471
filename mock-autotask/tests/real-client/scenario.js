// Drives mock-autotask with @apigrate/autotask-restapi, unmodified but for its base URL, and
// prints what every call returned (or threw) as one JSON object for ../real_client.rs to check.
// Usage: node scenario.js <mock base url> <user> <secret> <integration code>
'use strict';
const { AutotaskRestApi } = require('@apigrate/autotask-restapi');

const [base, user, secret, code] = process.argv.slice(2);
const options = { base_url: `${base}/atservicesrest/` };

/** What a call gave: `{ok: answer}` or `{error: {status, message, details}}`. */
async function attempt(call) {
  try {
    return { ok: await call() };
  } catch (error) {
    return { error: { status: error.status ?? null, message: String(error.message), details: error.details ?? null } };
  }
}

async function main() {
  const api = new AutotaskRestApi(user, secret, code, options);
  const out = {};
  out.company = await attempt(() => api.Companies.get(29683541));
  out.zone = api.zoneInfo;
  out.missingCompany = await attempt(() => api.Companies.get(424242));
  out.recurringContracts = await attempt(() => api.Contracts.query({
    filter: [{ op: 'eq', field: 'contractType', value: 7 }],
    IncludeFields: ['id', 'companyID', 'contractName'],
  }));
  out.linesOn991 = await attempt(() => api.ContractServices.count({ filter: [{ op: 'eq', field: 'contractID', value: 991 }] }));
  out.firstLinePage = await attempt(() => api.ContractServices.query({ filter: [{ op: 'gt', field: 'id', value: 0 }], MaxRecords: 2 }));
  out.contractFields = await attempt(() => api.Contracts.fieldInfo());
  // Values as strings, as callers that build bodies from forms or CSV send them.
  out.createdLine = await attempt(() => api.ContractServices.create(994, {
    contractID: 994, serviceID: '31', unitPrice: '3', invoiceDescription: 'Defender',
  }));
  const lineId = out.createdLine.ok ? out.createdLine.ok.itemId : null;
  out.adjustment = await attempt(() => api.ContractServiceAdjustments.create(994, {
    contractServiceID: lineId, effectiveDate: '2026-10-26T00:00:00Z', unitChange: 6, adjustedUnitPrice: '2.75',
  }));
  out.updatedLine = await attempt(() => api.ContractServices.update(994, {
    id: lineId, adjustedPrice: '2.5', invoiceDescription: 'Defender for Business', unitPrice: 99,
  }));
  out.line = await attempt(() => api.ContractServices.get(lineId));
  out.units = await attempt(() => api.ContractServiceUnits.query({ filter: [{ op: 'eq', field: 'contractServiceID', value: lineId }] }));
  out.badCompany = await attempt(() => api.Companies.create({ companyType: 1, isActive: true }));
  out.deleteCompany = await attempt(() => api.Companies.delete(29683541));
  const wrong = new AutotaskRestApi(user, 'not-the-secret', code, options);
  out.wrongSecret = await attempt(() => wrong.Companies.get(29683541));
  process.stdout.write(JSON.stringify(out));
}

main().catch((error) => {
  console.error(error);
  process.exit(1);
});
