// Azure Cache for Redis relaying MCP sessions between replicas (issue 12). Entra ID
// authentication only: access keys are disabled, the app's managed identity gets a data access
// policy (app.bicep), TLS 1.2 on 6380 only.

param location string
param prefix string
param workspaceId string

@allowed(['Basic', 'Standard', 'Premium'])
param sku string

@description('Cache size: 0-6 for Basic/Standard (C family), 1-5 for Premium (P family).')
param capacity int

param tags object

resource redis 'Microsoft.Cache/redis@2024-11-01' = {
  name: '${prefix}-redis'
  location: location
  tags: tags
  properties: {
    sku: { name: sku, family: sku == 'Premium' ? 'P' : 'C', capacity: capacity }
    enableNonSslPort: false
    minimumTlsVersion: '1.2'
    disableAccessKeyAuthentication: true
    // checkov:skip=CKV_AZURE_89:The Container Apps environment has no virtual network here, so the cache is reached on its public TLS endpoint; only Entra tokens of the app's identity are accepted (access keys are disabled). docs/deploy.md describes the private-endpoint variant.
    publicNetworkAccess: 'Enabled'
    redisConfiguration: { 'aad-enabled': 'true' }
  }
}

resource diagnostics 'Microsoft.Insights/diagnosticSettings@2021-05-01-preview' = {
  name: 'to-log-analytics'
  scope: redis
  properties: {
    workspaceId: workspaceId
    logs: [{ categoryGroup: 'allLogs', enabled: true }]
    metrics: [{ category: 'AllMetrics', enabled: true }]
  }
}

output name string = redis.name
output url string = 'rediss://${redis.properties.hostName}:${redis.properties.sslPort}'
