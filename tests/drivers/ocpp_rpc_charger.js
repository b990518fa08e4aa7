// An OCPP 1.6J charge point that homeflex did not write: the npm package ocpp-rpc (2.2.1, MIT) in strict
// mode, so every CALL homeflex sends is checked against the OCPP 1.6 JSON schemas on this side.
// Used by tests/drivers/test_ocpp_rpc.py: it prints what happens as JSON lines on stdout and stops when
// its stdin closes.
//
// env: ENDPOINT (the central system's URL), IDENTITY, PASSWORD, BAD_PASSWORD (tried first, expected to
// be refused), PROTOCOL (ocpp1.6 or ocpp2.0.1).
'use strict';
const { RPCClient } = require('ocpp-rpc');

const say = (event, fields) => process.stdout.write(JSON.stringify({ event, ...fields }) + '\n');

// What this charger sends and answers, in each version it can speak.
const V16 = {
    boot: { chargePointVendor: 'ocpp-rpc', chargePointModel: 'counterpart' },
    status: () => ({ connectorId: 1, errorCode: 'NoError', status: 'Charging' }),
    meterValues: (now) => ({
        connectorId: 1,
        meterValue: [{
            timestamp: now,
            sampledValue: [
                { value: '3680', measurand: 'Power.Active.Import', unit: 'W' },
                { value: '12.345', measurand: 'Energy.Active.Import.Register', unit: 'kWh' },
                { value: '42', measurand: 'SoC', unit: 'Percent' },
            ],
        }],
    }),
    profile: (params) => [params.csChargingProfiles.stackLevel,
        params.csChargingProfiles.chargingSchedule.chargingSchedulePeriod[0].limit],
    cleared: (params) => params.stackLevel,
    configured: () => ({ status: 'Accepted' }),
    composite: (params, limit) => ({
        status: 'Accepted',
        connectorId: params.connectorId,
        scheduleStart: new Date().toISOString(),
        chargingSchedule: {
            chargingRateUnit: params.chargingRateUnit || 'W',
            chargingSchedulePeriod: [{ startPeriod: 0, limit }],
        },
    }),
    configuration: 'ChangeConfiguration',
};
const V201 = {
    boot: { chargingStation: { vendorName: 'ocpp-rpc', model: 'counterpart' }, reason: 'PowerUp' },
    status: (now) => ({ timestamp: now, connectorStatus: 'Occupied', evseId: 1, connectorId: 1 }),
    meterValues: (now) => ({
        evseId: 1,
        meterValue: [{
            timestamp: now,
            sampledValue: [
                { value: 3680, measurand: 'Power.Active.Import', unitOfMeasure: { unit: 'W' } },
                { value: 12.345, measurand: 'Energy.Active.Import.Register', unitOfMeasure: { unit: 'Wh', multiplier: 3 } },
                { value: 42, measurand: 'SoC', unitOfMeasure: { unit: 'Percent' } },
            ],
        }],
    }),
    profile: (params) => [params.chargingProfile.stackLevel,
        params.chargingProfile.chargingSchedule[0].chargingSchedulePeriod[0].limit],
    cleared: (params) => params.chargingProfileCriteria.stackLevel,
    configured: (params) => ({
        setVariableResult: params.setVariableData.map((d) => ({
            attributeStatus: 'Accepted', component: d.component, variable: d.variable,
        })),
    }),
    composite: (params, limit) => ({
        status: 'Accepted',
        schedule: {
            evseId: params.evseId,
            duration: params.duration,
            scheduleStart: new Date().toISOString(),
            chargingRateUnit: params.chargingRateUnit || 'W',
            chargingSchedulePeriod: [{ startPeriod: 0, limit }],
        },
    }),
    configuration: 'SetVariables',
};
const PROTOCOL = process.env.PROTOCOL || 'ocpp1.6';
const SPEAK = PROTOCOL === 'ocpp2.0.1' ? V201 : V16;

function client(password) {
    return new RPCClient({
        endpoint: process.env.ENDPOINT,
        identity: process.env.IDENTITY,
        password,
        protocols: [PROTOCOL],
        strictMode: true,
        reconnect: false,
    });
}

async function main() {
    try {
        await client(process.env.BAD_PASSWORD).connect();
        say('let_in_with_bad_password', {});
    } catch (err) {
        say('refused', { message: String(err && err.message) });
    }

    const cli = client(process.env.PASSWORD);
    const profiles = new Map();  // stackLevel -> limit: the TxDefaultProfiles this charger holds
    const limit = () => (profiles.size ? profiles.get(Math.max(...profiles.keys())) : 7400);
    const answers = {
        SetChargingProfile: (params) => {
            const [level, value] = SPEAK.profile(params);
            profiles.set(level, value);
            return { status: 'Accepted' };
        },
        ClearChargingProfile: (params) => {
            profiles.delete(SPEAK.cleared(params));
            return { status: 'Accepted' };
        },
        GetCompositeSchedule: (params) => SPEAK.composite(params, limit()),
        [SPEAK.configuration]: (params) => SPEAK.configured(params),
    };
    for (const [method, answer] of Object.entries(answers)) {
        cli.handle(method, ({ params }) => {
            say('call', { method, params });
            return answer(params);
        });
    }

    await cli.connect();
    say('connected', { protocol: cli.protocol });
    const boot = await cli.call('BootNotification', SPEAK.boot);
    say('boot', { response: boot });
    await cli.call('StatusNotification', SPEAK.status(new Date().toISOString()));
    await cli.call('MeterValues', SPEAK.meterValues(new Date().toISOString()));
    // what real chargers also send (the same payload in both versions)
    for (const [method, params] of [['DataTransfer', { vendorId: 'ocpp-rpc' }], ['FirmwareStatusNotification', { status: 'Idle' }]]) {
        say('answered', { method, response: await cli.call(method, params) });
    }
    say('readings_sent', {});

    process.stdin.resume();
    await new Promise((resolve) => process.stdin.on('end', resolve));
    await cli.close();
    say('closed', {});
}

main().catch((err) => {
    say('error', { message: String(err && err.stack) });
    process.exit(1);
});
