// sentinel-mcp on Azure Container Apps: everything one environment (dev, prod) needs.
//
//   az deployment group create -g <rg> -f deploy/infra/main.bicep -p deploy/infra/dev.bicepparam \
//     -p image=<registry>.azurecr.io/sentinel-mcp:<commit>
//
// deploy/scripts/create.sh runs it (twice on the first deployment: see docs/deploy.md).
targetScope = 'resourceGroup'

@description('Environment name; part of every resource name.')
@allowed(['dev', 'prod'])
param environmentName string

@description('Short name of the deployment; resources are <name>-<environment>-<kind>.')
@minLength(3)
@maxLength(14)
param name string = 'sentinel-mcp'

param location string = resourceGroup().location

@description('Image to run; empty on the very first deployment (a placeholder runs until the registry and the identity\'s roles exist).')
param image string = ''

@description('Entra tenant whose tokens the server accepts.')
param tenantId string = tenant().tenantId

@description('Application (client) id of the server\'s Entra app registration (docs/security.md).')
param serverAppId string

@description('Log Analytics workspace id (GUID) of the Sentinel workspace.')
param sentinelWorkspaceId string

@description('ARM resource id of the Sentinel workspace: /subscriptions/…/resourceGroups/…/providers/Microsoft.OperationalInsights/workspaces/….')
param sentinelWorkspaceResourceId string

@description('Where incidents come from: Microsoft Graph security (graph) or Sentinel\'s ARM API (arm).')
@allowed(['graph', 'arm'])
param incidentsApi string = 'graph'

@description('Offer update_incident and add_incident_comment.')
param enableWriteTools bool = false

@minValue(0)
@maxValue(30)
param minReplicas int = 1

@minValue(1)
@maxValue(300)
param maxReplicas int = 10

@description('vCPU per replica.')
param cpu string = '0.5'

@description('Memory per replica (with cpu 0.5, 1Gi).')
param memory string = '1Gi'

param httpConcurrency int = 50

@description('Active sessions per replica for the custom scale rule; 0 leaves it out.')
param sessionsPerReplica int = 1000

@description('Seconds in-flight requests get after SIGTERM (SENTINEL_MCP_DRAIN_TIMEOUT_SECS).')
param drainTimeoutSecs int = 25

@description('Seconds between SIGTERM and SIGKILL; must be at least drainTimeoutSecs.')
param terminationGracePeriodSeconds int = 30

@allowed(['Basic', 'Standard', 'Premium'])
param registrySku string = 'Basic'

@allowed(['Basic', 'Standard', 'Premium'])
param redisSku string = 'Standard'

param redisCapacity int = 0

@minValue(30)
param logRetentionDays int = 30

@description('Where alerts are e-mailed; none when empty.')
param alertEmail string = ''

param tags object = {}

var prefix = '${name}-${environmentName}'
var compact = toLower(replace(prefix, '-', ''))
var suffix = uniqueString(resourceGroup().id)
var allTags = union(tags, { application: 'sentinel-mcp', environment: environmentName })
// More than one replica: sessions are relayed between them over Redis.
var useRedis = maxReplicas > 1
var workspaceParts = split(sentinelWorkspaceResourceId, '/')

module monitoring 'modules/monitoring.bicep' = {
  name: 'monitoring'
  params: {
    location: location
    prefix: prefix
    retentionDays: logRetentionDays
    alertEmail: alertEmail
    tags: allTags
  }
}

module registry 'modules/registry.bicep' = {
  name: 'registry'
  params: {
    location: location
    name: take('${compact}${suffix}', 50)
    sku: registrySku
    workspaceId: monitoring.outputs.workspaceId
    tags: allTags
  }
}

module vault 'modules/keyvault.bicep' = {
  name: 'keyvault'
  params: {
    location: location
    name: take('${take(compact, 10)}kv${suffix}', 24)
    tenantId: tenantId
    appInsightsName: monitoring.outputs.appInsightsName
    workspaceId: monitoring.outputs.workspaceId
    softDeleteDays: environmentName == 'prod' ? 90 : 7
    purgeProtection: environmentName == 'prod'
    tags: allTags
  }
}

module environment 'modules/environment.bicep' = {
  name: 'environment'
  params: {
    location: location
    prefix: prefix
    workspaceId: monitoring.outputs.workspaceId
    tags: allTags
  }
}

module redis 'modules/redis.bicep' = if (useRedis) {
  name: 'redis'
  params: {
    location: location
    prefix: prefix
    workspaceId: monitoring.outputs.workspaceId
    sku: redisSku
    capacity: redisCapacity
    tags: allTags
  }
}

module app 'modules/app.bicep' = {
  name: 'app'
  params: {
    location: location
    prefix: prefix
    tags: allTags
    environmentId: environment.outputs.id
    image: image
    registryName: registry.outputs.name
    registryLoginServer: registry.outputs.loginServer
    tenantId: tenantId
    serverAppId: serverAppId
    sentinelWorkspaceId: sentinelWorkspaceId
    sentinelWorkspaceResourceId: sentinelWorkspaceResourceId
    incidentsApi: incidentsApi
    enableWriteTools: enableWriteTools
    drainTimeoutSecs: drainTimeoutSecs
    terminationGracePeriodSeconds: max(terminationGracePeriodSeconds, drainTimeoutSecs)
    cpu: cpu
    memory: memory
    minReplicas: minReplicas
    maxReplicas: maxReplicas
    httpConcurrency: httpConcurrency
    sessionsPerReplica: sessionsPerReplica
    keyVaultName: vault.outputs.name
    connectionStringSecretUri: vault.outputs.connectionStringSecretUri
    appInsightsName: monitoring.outputs.appInsightsName
    redisUrl: useRedis ? redis.outputs.url : ''
    redisName: useRedis ? redis.outputs.name : ''
  }
}

module sentinelAccess 'modules/sentinel-access.bicep' = {
  name: 'sentinel-access'
  scope: resourceGroup(workspaceParts[2], workspaceParts[4])
  params: {
    workspaceName: last(workspaceParts)
    principalId: app.outputs.principalId
    allowWrites: enableWriteTools && incidentsApi == 'arm'
  }
}

module alerts 'modules/alerts.bicep' = {
  name: 'alerts'
  params: {
    location: location
    prefix: prefix
    tags: allTags
    workspaceId: monitoring.outputs.workspaceId
    appName: app.outputs.name
    appId: app.outputs.id
    actionGroupId: monitoring.outputs.actionGroupId
  }
}

@description('The URL clients connect to (…/sse or …/mcp).')
output appUrl string = app.outputs.url

@description('Principal id of the app\'s system-assigned identity: grant it the Graph application permissions (docs/deploy.md).')
output principalId string = app.outputs.principalId

output appName string = app.outputs.name
@description('The API\'s application id: clients and the smoke test ask Entra for api://<id>/.default.')
output serverAppId string = serverAppId
output registryName string = registry.outputs.name
output registryLoginServer string = registry.outputs.loginServer
output keyVaultName string = vault.outputs.name
