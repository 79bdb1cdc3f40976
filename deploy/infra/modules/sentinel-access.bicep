// What the app's identity may read in the Sentinel workspace, which can live in another resource
// group or subscription (main.bicep scopes this module there). Microsoft Graph application
// permissions (SecurityIncident.Read.All, SecurityAlert.Read.All, ThreatHunting.Read.All) cannot be
// granted by a template: docs/deploy.md has the admin step.

@description('Name of the Sentinel (Log Analytics) workspace in this resource group.')
param workspaceName string

param principalId string

@description('Also Microsoft Sentinel Responder, for update_incident and add_incident_comment through ARM.')
param allowWrites bool

var roles = {
  logAnalyticsReader: '73c42c96-874c-492b-b04d-ab87d138a893'
  sentinelReader: '8d289c81-5878-46d4-8554-54e1e3d8b5cb'
  sentinelResponder: '3e150937-b8fe-4cfb-8069-0eaf05ecd056'
}
var granted = allowWrites ? [roles.logAnalyticsReader, roles.sentinelReader, roles.sentinelResponder] : [roles.logAnalyticsReader, roles.sentinelReader]

resource workspace 'Microsoft.OperationalInsights/workspaces@2023-09-01' existing = {
  name: workspaceName
}

resource assignments 'Microsoft.Authorization/roleAssignments@2022-04-01' = [for role in granted: {
  name: guid(workspace.id, principalId, role)
  scope: workspace
  properties: {
    principalId: principalId
    principalType: 'ServicePrincipal'
    roleDefinitionId: subscriptionResourceId('Microsoft.Authorization/roleDefinitions', role)
  }
}]
