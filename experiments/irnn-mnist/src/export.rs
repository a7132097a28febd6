//! `irnn-mnist export RUN_DIR`: a trained run's network as a PyTorch `state_dict` in
//! safetensors, for use outside Burn. The IRNN and the tanh and ReLU RNNs are written as an
//! `nn.RNN`, the LSTM as an `nn.LSTM`, under `rnn.`; the readout as an `nn.Linear` under
//! `fc.`; the metadata says how an image becomes
//! the input sequence, so that `tools/pytorch_eval.py` (or any PyTorch program) reads the
//! test set exactly as the run did.

use std::path::PathBuf;

use clap::Args;
use rnn_models::StateDict;
use rnn_train::device::open::open;
use rnn_train::{BackendChoice, Console, RunDir, RunError, trained_model};

use crate::config::{IrnnMnistConfig, NAME};
use crate::model::Network;

/// `irnn-mnist export` flags.
#[derive(Args, Debug, Clone)]
pub struct ExportArgs {
    /// Run directory of an irnn-mnist run (its model.bpk, or its last checkpoint if the run
    /// stopped early).
    #[arg(value_name = "RUN_DIR")]
    pub run: PathBuf,

    /// Where to write the state_dict [default: RUN_DIR/pytorch.safetensors].
    #[arg(long, value_name = "FILE")]
    pub out: Option<PathBuf>,
}

/// The `state_dict` of the trained network in `run`, with its input recipe as metadata.
pub fn state_dict(run: &RunDir) -> Result<StateDict, RunError> {
    let config: IrnnMnistConfig = run.read_config()?;
    let device = open(BackendChoice::Flex, 1)?.main().clone();
    let d_input = config.view.features();
    let mut state = StateDict::new();
    let pytorch = |e: rnn_models::PyTorchError| RunError::Internal(e.to_string());
    let network = config.network();
    let (output, source) = match network {
        Network::Lstm => {
            let model = config.model.init_lstm(d_input, &device);
            let (model, source) = trained_model(run, model, NAME, "export")?;
            model.lstm.to_pytorch(&mut state, "rnn.").map_err(pytorch)?;
            (model.output, source)
        }
        Network::Irnn | Network::Rnn | Network::Relu => {
            let model = config.model.init(d_input, &device);
            let (model, source) = trained_model(run, model, NAME, "export")?;
            model.irnn.to_pytorch(&mut state, "rnn.").map_err(pytorch)?;
            (model.output, source)
        }
    };
    // Burn's Linear applies `x · W` with `W [in, out]`; PyTorch's stores `[out, in]`.
    state.insert("fc.weight", output.weight.val().transpose());
    if let Some(bias) = &output.bias {
        state.insert("fc.bias", bias.val());
    }
    let (module, cell, nonlinearity) = match network {
        Network::Lstm => (
            "rnn: nn.LSTM(batch_first=True); fc: nn.Linear",
            "lstm",
            "none",
        ),
        Network::Rnn => (
            "rnn: nn.RNN(nonlinearity='tanh', batch_first=True); fc: nn.Linear",
            "rnn",
            "tanh",
        ),
        Network::Irnn | Network::Relu => (
            "rnn: nn.RNN(nonlinearity='relu', batch_first=True); fc: nn.Linear",
            "rnn",
            "relu",
        ),
    };
    let view = config.view;
    let order: Vec<usize> = view
        .pixel_order()
        .unwrap_or_else(|| (0..rnn_data::idx::PIXELS).collect());
    let table = config.normalisation.table();
    let list = |values: Vec<String>| values.join(",");
    for (key, value) in [
        ("format", "rnn-burn irnn-mnist state_dict".to_string()),
        ("module", module.into()),
        ("cell", cell.into()),
        ("network", network.to_string()),
        ("input_size", view.features().to_string()),
        ("hidden_size", config.model.hidden.to_string()),
        ("num_layers", "1".into()),
        ("nonlinearity", nonlinearity.into()),
        ("classes", config.model.classes.to_string()),
        ("steps", view.steps().to_string()),
        ("view", view.to_string()),
        ("normalisation", config.normalisation.to_string()),
        (
            "pixel_order",
            list(order.iter().map(|i| i.to_string()).collect()),
        ),
        (
            "pixel_values",
            list(table.iter().map(|v| format!("{v:e}")).collect()),
        ),
        ("weights_from", source),
    ] {
        state.insert_metadata(key, value);
    }
    Ok(state)
}

/// Writes the `state_dict` of `args.run` (atomically) and says where.
pub fn export(args: &ExportArgs, console: &Console) -> Result<(), RunError> {
    let run = RunDir::open(&args.run, NAME)?;
    let state = state_dict(&run)?;
    let bytes = state
        .to_bytes()
        .map_err(|e| RunError::Internal(e.to_string()))?;
    let path = args
        .out
        .clone()
        .unwrap_or_else(|| run.path().join("pytorch.safetensors"));
    rnn_train::base::atomic::write(&path, &bytes).map_err(|e| RunError::io("write", &path, e))?;
    console.line(format!(
        "wrote {} ({} tensors: {}); check it with `python3 tools/pytorch_eval.py {}`",
        path.display(),
        state.names().count(),
        state.names().collect::<Vec<_>>().join(", "),
        path.display()
    ));
    Ok(())
}
