// Container Apps environment. Its console and system logs reach the Log Analytics workspace through
// diagnostic settings (destination azure-monitor), in the resource-specific tables
// ContainerAppConsoleLogs and ContainerAppSystemLogs the alerts query.

param location string
param prefix string
param workspaceId string

@description('Spread replicas across availability zones (needs a virtual network; off by default).')
param zoneRedundant bool = false

param tags object

resource environment 'Microsoft.App/managedEnvironments@2025-01-01' = {
  name: '${prefix}-env'
  location: location
  tags: tags
  properties: {
    appLogsConfiguration: { destination: 'azure-monitor' }
    zoneRedundant: zoneRedundant
    workloadProfiles: [{ name: 'Consumption', workloadProfileType: 'Consumption' }]
  }
}

resource diagnostics 'Microsoft.Insights/diagnosticSettings@2021-05-01-preview' = {
  name: 'to-log-analytics'
  scope: environment
  properties: {
    workspaceId: workspaceId
    logs: [{ categoryGroup: 'allLogs', enabled: true }]
    metrics: [{ category: 'AllMetrics', enabled: true }]
  }
}

output id string = environment.id
output defaultDomain string = environment.properties.defaultDomain
