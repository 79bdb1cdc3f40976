// Container Registry the image is built into (`az acr build`) and pulled from with the app's
// managed identity: no admin user, no passwords.

param location string

@description('Registry name: 5-50 alphanumerics, globally unique.')
param name string

@allowed(['Basic', 'Standard', 'Premium'])
param sku string

@description('Log Analytics workspace for the registry\'s diagnostic logs.')
param workspaceId string

param tags object

resource registry 'Microsoft.ContainerRegistry/registries@2023-07-01' = {
  name: name
  location: location
  tags: tags
  sku: { name: sku }
  // checkov:skip=CKV_AZURE_139:Public endpoint kept: `az acr build` agents and GitHub-hosted runners push over it and the Container Apps environment has no virtual network; pulls need the app's AcrPull role and pushes an Entra identity (no admin user, no anonymous pull).
  // checkov:skip=CKV_AZURE_166:Quarantine is a Premium feature; images are scanned by Trivy in deploy.yml before any revision runs them, failing on HIGH/CRITICAL.
  // checkov:skip=CKV_AZURE_163:Registry scanning comes from Microsoft Defender for Containers, a subscription-level plan this template does not own; deploy.yml scans every image with Trivy.
  properties: {
    adminUserEnabled: false
    anonymousPullEnabled: false
  }
}

resource diagnostics 'Microsoft.Insights/diagnosticSettings@2021-05-01-preview' = {
  name: 'to-log-analytics'
  scope: registry
  properties: {
    workspaceId: workspaceId
    logs: [{ categoryGroup: 'allLogs', enabled: true }]
    metrics: [{ category: 'AllMetrics', enabled: true }]
  }
}

output id string = registry.id
output name string = registry.name
output loginServer string = registry.properties.loginServer
