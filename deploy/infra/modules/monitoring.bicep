// Log Analytics workspace for the platform's and the app's logs, Application Insights on it
// (the app's telemetry), and the action group alerts notify.

@description('Azure region.')
param location string

@description('Name prefix of every resource, e.g. sentinel-mcp-dev.')
param prefix string

@description('Days the workspace keeps logs.')
@minValue(30)
param retentionDays int

@description('Address the alerts are sent to; none when empty.')
param alertEmail string

param tags object

resource workspace 'Microsoft.OperationalInsights/workspaces@2023-09-01' = {
  name: '${prefix}-logs'
  location: location
  tags: tags
  properties: {
    sku: { name: 'PerGB2018' }
    retentionInDays: retentionDays
    features: { disableLocalAuth: true }
  }
}

resource appInsights 'Microsoft.Insights/components@2020-02-02' = {
  name: '${prefix}-appi'
  location: location
  tags: tags
  kind: 'other'
  properties: {
    Application_Type: 'other'
    WorkspaceResourceId: workspace.id
    IngestionMode: 'LogAnalytics'
  }
}

resource actionGroup 'Microsoft.Insights/actionGroups@2023-01-01' = {
  name: '${prefix}-oncall'
  location: 'global'
  tags: tags
  properties: {
    groupShortName: take(replace(prefix, '-', ''), 12)
    enabled: true
    emailReceivers: empty(alertEmail) ? [] : [
      { name: 'oncall', emailAddress: alertEmail, useCommonAlertSchema: true }
    ]
  }
}

output workspaceId string = workspace.id
output workspaceName string = workspace.name
output appInsightsId string = appInsights.id
output appInsightsName string = appInsights.name
output actionGroupId string = actionGroup.id
