// Key Vault holding the app's one secret (the Application Insights connection string): the app
// reads it as a Key Vault reference with its managed identity, so no secret value is in the
// template, the app's configuration or a pipeline variable.

param location string

@description('Vault name: 3-24 characters, globally unique.')
param name string

param tenantId string

@description('Application Insights component whose connection string is stored.')
param appInsightsName string

param workspaceId string

@description('Keep deleted secrets recoverable for this many days (and block purge in prod).')
param softDeleteDays int

param purgeProtection bool

param tags object

@description('Now, for the secret\'s expiry date (utcNow() is only allowed as a parameter default).')
param now string = utcNow()

resource appInsights 'Microsoft.Insights/components@2020-02-02' existing = {
  name: appInsightsName
}

resource vault 'Microsoft.KeyVault/vaults@2023-07-01' = {
  name: name
  location: location
  tags: tags
  // checkov:skip=CKV_AZURE_110:Purge protection is on in prod (purgeProtection is environmentName == 'prod' in main.bicep); off in dev so delete.sh can tear an environment down and recreate it under the same name.
  // checkov:skip=CKV_AZURE_42:Recoverable: soft delete is always on (7 days in dev, 90 in prod), purge protection in prod (see CKV_AZURE_110).
  properties: {
    tenantId: tenantId
    sku: { family: 'A', name: 'standard' }
    enableRbacAuthorization: true
    enableSoftDelete: true
    softDeleteRetentionInDays: softDeleteDays
    enablePurgeProtection: purgeProtection ? true : null
    // checkov:skip=CKV_AZURE_109:Container Apps without a virtual network reach Key Vault over its public endpoint; access is RBAC with the app's managed identity only (docs/deploy.md, private networking).
    // checkov:skip=CKV_AZURE_189:Same reason: public network access stays on for the Container Apps environment, which has no private endpoint here.
    publicNetworkAccess: 'Enabled'
    networkAcls: { defaultAction: 'Allow', bypass: 'AzureServices' }
  }
}

// Rotated by re-running the deployment (or deploy/scripts/rotate-secret.sh): a new version, and
// a new app revision picks it up.
resource connectionString 'Microsoft.KeyVault/vaults/secrets@2023-07-01' = {
  parent: vault
  name: 'appinsights-connection-string'
  properties: {
    value: appInsights.properties.ConnectionString
    contentType: 'text/plain'
    attributes: { enabled: true, exp: dateTimeToEpoch(dateTimeAdd(now, 'P1Y')) }
  }
}

resource diagnostics 'Microsoft.Insights/diagnosticSettings@2021-05-01-preview' = {
  name: 'to-log-analytics'
  scope: vault
  properties: {
    workspaceId: workspaceId
    logs: [{ categoryGroup: 'audit', enabled: true }]
    metrics: [{ category: 'AllMetrics', enabled: true }]
  }
}

output id string = vault.id
output name string = vault.name
output connectionStringSecretUri string = connectionString.properties.secretUri
