//! The fused recurrence on every CubeCL runtime (wgpu, CUDA, ...).
//!
//! Each layer's time loop is one kernel launch per pass (`cube/kernels.rs`); the input
//! projection and the weight gradients are Burn's own large matmuls around it. The kernels
//! run on the raw [`CubeBackend`]; the backend extension [`FusedRecurrence`] with Burn's
//! `Fusion` selector records each launch as one opaque operation in the fusion stream, so
//! the default (fused) `Cube` backend keeps fusing what surrounds it.
//!
//! Unchecked launches: the kernels are launched without a bounds check on each buffer
//! access, which is sound because every index they form is in bounds by construction. The
//! buffers are allocated (or made contiguous) right before each launch with the shapes the
//! kernel assumes — `[B, T, G]`, `[H, G]`, `[G, H]`, `[B, T + 1, H]`, `[B, T, A]`, `[B, rows, H]`
//! from the same B, T, H — row indices stop at B (`slice_rows`), step indices at T, column
//! indices at G or H (the column blocks divide them: `block`), and the shared slices are
//! sized at compile time for the `rows` rows and the matrix they hold.

use burn::backend::DispatchDevice;
use burn::backend::cubecl::dtype_to_storage_type;
use burn::backend::fusion::custom::TensorSpec;
use burn::backend::ops::FloatTensorOps;
use burn::backend::{Cube, Shape, Slice, TensorMetadata, backend_extension, tensor::FloatTensor};
use burn_cubecl::cubecl::features::Plane;
use burn_cubecl::cubecl::ir::DeviceProperties;
use burn_cubecl::cubecl::prelude::{CubeCount, CubeDim};
use burn_cubecl::{
    CubeBackend, kernel::into_contiguous, ops::numeric::empty_device_dtype, tensor::CubeTensor,
};

mod kernels;

use super::{Cell, LayerGrads, LayerTensors, RecurrenceKernels, Tape, generic};
use kernels::{Layer, recurrence_backward_kernel, recurrence_forward_kernel};

/// Floats per step in `aux` (see `cube/kernels.rs`): the LSTM's gates and cell state, the
/// GRU's r, z, n, q; nothing for the Elman cell.
fn aux_width(cell: Cell, h: usize) -> usize {
    match cell {
        Cell::Elman { .. } => 0,
        Cell::Lstm => 5 * h,
        Cell::Gru { .. } => 4 * h,
    }
}

/// `[B, T, A]`, or a one-element placeholder for a cell that keeps nothing there.
fn aux_shape(cell: Cell, b: usize, t: usize, h: usize) -> Shape {
    match aux_width(cell, h) {
        0 => Shape::new([1]),
        a => Shape::new([b, t, a]),
    }
}

/// 16 KiB: the least compute shared memory any CubeCL runtime offers (WebGPU's guaranteed
/// `maxComputeWorkgroupStorageSize`); a layer that needs more runs the generic loop.
const SHARED_BYTES: usize = 16 * 1024;

/// Whether the fused kernel takes a layer of hidden size `h` with elements of `elem` bytes:
/// one row of its buffers fits in [`SHARED_BYTES`], the matrix read from global memory.
fn fits(cell: Cell, h: usize, elem: usize) -> bool {
    layer(cell, h, 1, false).shared_len() * elem <= SHARED_BYTES
}

/// The kernels' compile-time description of a layer of `cell` with hidden size `h`, `rows`
/// batch rows per cube and the matrix in shared memory or not.
fn layer(cell: Cell, h: usize, rows: usize, w_shared: bool) -> Layer {
    with_splits(cell, h, rows, w_shared, (1, 1))
}

/// [`layer`] with the forward and the backward product split over slices of what they sum
/// over (`splits.0` and `splits.1` of them).
fn with_splits(cell: Cell, h: usize, rows: usize, w_shared: bool, splits: (usize, usize)) -> Layer {
    let (lstm, gru, relu, reset_after) = match cell {
        Cell::Elman { relu } => (false, false, relu, false),
        Cell::Lstm => (true, false, false, false),
        Cell::Gru { reset_after } => (false, true, false, reset_after),
    };
    Layer {
        rows,
        w_shared,
        hidden: h,
        gates: cell.gates(),
        aux_width: aux_width(cell, h),
        lstm,
        gru,
        relu,
        reset_after,
        splits: splits.0,
        back_splits: splits.1,
    }
}

/// The most batch rows per cube whose buffers ([`Layer::shared_len`]) fit in `max_bytes`
/// (0 when not even one does).
fn rows_in(cell: Cell, h: usize, w_shared: bool, elem: usize, max_bytes: usize) -> usize {
    let bytes = |rows| layer(cell, h, rows, w_shared).shared_len() * elem;
    let (one, per_row) = (bytes(1), bytes(2) - bytes(1));
    if one > max_bytes {
        0
    } else {
        1 + (max_bytes - one) / per_row
    }
}

/// Units per cube: enough to cover the widest loop (either product's column blocks times
/// slices, or H per row), a multiple of 32 (a warp or a subgroup), at most 256 and at most
/// what the device allows.
fn units(device: DeviceShape, layer: &Layer) -> usize {
    let products =
        (column_blocks(layer) * layer.splits).max(state_blocks(layer) * layer.back_splits);
    let widest = products.max(layer.rows * layer.hidden);
    (widest.div_ceil(32) * 32)
        .clamp(32, 256)
        .min(device.max_units)
}

/// What the launch shape depends on, read from a device's properties.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
struct DeviceShape {
    /// A GPU (CUDA, or a wgpu adapter that is not a CPU: CubeCL gives plane operations only
    /// to those), rather than a CPU emulating one (lavapipe).
    gpu: bool,
    /// Multiprocessors (CUDA) or CPU cores, where the runtime reports them.
    units: Option<usize>,
    /// Bytes of shared memory a cube may use.
    shared_bytes: usize,
    /// The most units a cube may have along its one dimension.
    max_units: usize,
}

impl DeviceShape {
    fn of(properties: &DeviceProperties) -> Self {
        let hw = &properties.hardware;
        Self::described(
            hw.num_streaming_multiprocessors,
            hw.num_cpu_cores,
            properties.features.plane.contains(Plane::Ops),
            hw.max_shared_memory_size,
            hw.max_cube_dim.0,
        )
    }

    /// A device that reports `sms` multiprocessors (CUDA), `cpu_cores` (a CPU runtime),
    /// plane operations or not (CubeCL gives them to GPU adapters only), `shared_bytes` of
    /// shared memory per cube and at most `max_cube_x` units along a cube's x axis.
    fn described(
        sms: Option<u32>,
        cpu_cores: Option<u32>,
        plane_ops: bool,
        shared_bytes: usize,
        max_cube_x: u32,
    ) -> Self {
        let sms = sms.map(|n| n as usize);
        DeviceShape {
            gpu: sms.is_some() || plane_ops,
            units: sms.or(cpu_cores.map(|n| n as usize)),
            shared_bytes,
            max_units: max_cube_x as usize,
        }
    }

    /// Batch rows per cube for a batch of `b`, at most `by_memory` (what shared memory holds).
    ///
    /// A GPU runs many cubes at once, each unit's step waiting on its reads: one row per cube
    /// up to one cube per multiprocessor (a GPU that does not say how many it has counts as
    /// 128), so batch 40 runs as 40 cubes. A CPU runs one cube per core (8 when it does not
    /// say), and there extra rows per cube pay: on lavapipe, 2 cores, the IRNN at T = 784
    /// took 913 ms with 3 rows per cube, 701 ms with 8, 647 ms with 20. At most 8 rows
    /// either way.
    fn rows(self, b: usize, by_memory: usize) -> usize {
        let cubes = match (self.gpu, self.units) {
            (true, units) => units.unwrap_or(128),
            (false, units) => units.unwrap_or(8),
        };
        b.div_ceil(cubes.max(1)).clamp(1, 8).min(by_memory.max(1))
    }
}

/// What `RNN_BURN_CUBE_ROWS=N` and `RNN_BURN_CUBE_SPLITS=N` ask for (tests and tuning): N
/// batch rows per cube, and both products split in N slices, each still within what the
/// layer and the device allow. Read at every launch; they change the launch shape, never
/// the function computed.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
struct Tuning {
    rows: Option<usize>,
    splits: Option<usize>,
}

impl Tuning {
    fn from_env() -> Self {
        Tuning {
            rows: asked("RNN_BURN_CUBE_ROWS"),
            splits: asked("RNN_BURN_CUBE_SPLITS"),
        }
    }
}

/// How a layer runs on the device: batch rows per cube ([`DeviceShape::rows`], or as many
/// as asked), and whether the recurrent matrix is copied into shared memory (when it fits
/// there beside one row's buffers), both within what the device's shared memory holds of
/// the buffers this cell uses ([`Layer::shared_len`]); at least one row.
fn launch_shape(
    device: DeviceShape,
    elem: usize,
    cell: Cell,
    b: usize,
    h: usize,
    tuning: Tuning,
) -> (usize, bool) {
    let max_bytes = device.shared_bytes;
    let w_shared = rows_in(cell, h, true, elem, max_bytes) > 0;
    let by_memory = rows_in(cell, h, w_shared, elem, max_bytes).max(1);
    let rows = match tuning.rows {
        Some(rows) => rows.clamp(1, by_memory),
        None => device.rows(b, by_memory),
    };
    (rows, w_shared)
}

/// The forward product's column blocks (of [`block`] columns each), one unit's share.
fn column_blocks(layer: &Layer) -> usize {
    layer.direct_columns() / block(layer.direct_columns())
}

/// The backward product's blocks of state columns (of [`block`] columns each).
fn state_blocks(layer: &Layer) -> usize {
    layer.hidden / block(layer.hidden)
}

/// A tuning variable such as `RNN_BURN_CUBE_ROWS=N`, when it is set to a number.
fn asked(name: &str) -> Option<usize> {
    std::env::var(name).ok()?.trim().parse().ok()
}

/// Columns per unit in a product: 4 where they divide `n` (fewer, larger blocks mean fewer
/// reads per multiply-add), else 2, else 1. The kernels interleave them (`block_product`).
fn block(n: usize) -> usize {
    [4, 2]
        .into_iter()
        .find(|c| n.is_multiple_of(*c))
        .unwrap_or(1)
}

fn forward_meta(
    xw: &TensorSpec,
    w_hh: &TensorSpec,
    _b_hn: &TensorSpec,
    _h0: &TensorSpec,
    _c0: &TensorSpec,
    cell: &Cell,
) -> (TensorSpec, TensorSpec) {
    let [b, t, _] = xw.shape.dims::<3>();
    let h = w_hh.shape[0];
    (
        TensorSpec::new(Shape::new([b, t + 1, h]), xw.dtype),
        TensorSpec::new(aux_shape(*cell, b, t, h), xw.dtype),
    )
}

fn backward_meta(
    _grad: &TensorSpec,
    _w_t: &TensorSpec,
    hall: &TensorSpec,
    _aux: &TensorSpec,
    _c0: &TensorSpec,
    cell: &Cell,
    _keep_sequence: &bool,
) -> (TensorSpec, TensorSpec, TensorSpec, TensorSpec) {
    let [b, t1, h] = hall.shape.dims::<3>();
    let t = t1 - 1;
    let spec = |shape: Shape| TensorSpec::new(shape, hall.dtype);
    let gru = matches!(cell, Cell::Gru { .. });
    let lstm = *cell == Cell::Lstm;
    (
        spec(Shape::new([b, t, cell.gates() * h])),
        spec(if gru {
            Shape::new([b, t, h])
        } else {
            Shape::new([1])
        }),
        spec(Shape::new([b, h])),
        spec(if lstm {
            Shape::new([b, h])
        } else {
            Shape::new([1])
        }),
    )
}

/// The two kernel launches as backend operations (see the module notes).
#[backend_extension(Cube, Fusion)]
pub trait FusedRecurrence: burn::backend::Backend {
    /// `xw` `[B, T, G]`, `w_hh` `[H, G]` -> (`hall` `[B, T + 1, H]`, `aux`).
    #[fusion(meta = forward_meta)]
    fn fused_recurrence_forward(
        xw: FloatTensor<Self>,
        w_hh: FloatTensor<Self>,
        b_hn: FloatTensor<Self>,
        h0: FloatTensor<Self>,
        c0: FloatTensor<Self>,
        cell: Cell,
    ) -> (FloatTensor<Self>, FloatTensor<Self>);

    /// -> (`dxw` `[B, T, G]`, `dq`, `dh0` `[B, H]`, `dc0`); `w_t` is `w_hh` transposed.
    #[fusion(meta = backward_meta)]
    fn fused_recurrence_backward(
        grad: FloatTensor<Self>,
        w_t: FloatTensor<Self>,
        hall: FloatTensor<Self>,
        aux: FloatTensor<Self>,
        c0: FloatTensor<Self>,
        cell: Cell,
        keep_sequence: bool,
    ) -> (
        FloatTensor<Self>,
        FloatTensor<Self>,
        FloatTensor<Self>,
        FloatTensor<Self>,
    );
}

/// What both kernel launches for a layer of `cell` share: the kernels' compile-time
/// description (the cell's flags and sizes, and [`launch_shape`]'s choices, the products'
/// [`slices`]) for a batch of `b` rows of elements of `elem` bytes.
fn plan(device: DeviceShape, elem: usize, cell: Cell, b: usize, h: usize, tuning: Tuning) -> Layer {
    let (rows, w_shared) = launch_shape(device, elem, cell, b, h, tuning);
    let whole = layer(cell, h, rows, w_shared);
    let slices = slices(
        &whole,
        device.gpu,
        units(device, &whole),
        tuning.splits,
        device.shared_bytes / elem,
    );
    with_splits(cell, h, rows, w_shared, slices)
}

/// How one layer's kernels launch on a CubeCL device: what the fused path chose for a layer
/// of a given cell, batch and hidden size ([`cube_launch_plan`](super::cube_launch_plan)).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct LaunchPlan {
    /// Batch rows each cube runs.
    pub rows: usize,
    /// Cubes launched: one per `rows` batch rows.
    pub cubes: usize,
    /// Units per cube.
    pub units: usize,
    /// Whether the recurrent matrix is copied into shared memory; otherwise every step
    /// reads it from global memory.
    pub weights_in_shared: bool,
    /// Slices the forward and the backward recurrent products are split over (1: not
    /// split), their partial sums added up in shared memory.
    pub splits: (usize, usize),
    /// Whether the device counts as a GPU (it reports multiprocessors or plane
    /// operations), rather than a CPU running the kernels (lavapipe).
    pub on_gpu: bool,
}

impl LaunchPlan {
    fn of(device: DeviceShape, layer: &Layer, b: usize) -> Self {
        LaunchPlan {
            rows: layer.rows,
            cubes: b.div_ceil(layer.rows),
            units: units(device, layer),
            weights_in_shared: layer.w_shared,
            splits: (layer.splits, layer.back_splits),
            on_gpu: device.gpu,
        }
    }
}

/// The plan the kernels launch with for a layer of `cell` (batch `b`, hidden `h`, elements
/// of `elem` bytes) on `device`; `None` when the layer runs the generic loop instead (one
/// row's buffers do not fit in [`SHARED_BYTES`]) or the device is not a CubeCL one.
pub(crate) fn launch_plan(
    device: &burn::tensor::Device,
    cell: Cell,
    b: usize,
    h: usize,
    elem: usize,
) -> Option<LaunchPlan> {
    let DispatchDevice::Cube(cube) = device.as_dispatch().clone().inner() else {
        return None;
    };
    if !fits(cell, h, elem) {
        return None;
    }
    let shape = DeviceShape::of(cube.client().properties());
    let layer = plan(shape, elem, cell, b, h, Tuning::from_env());
    Some(LaunchPlan::of(shape, &layer, b))
}

/// [`plan`] for the layer `tensor` belongs to, with the grid and the cube size its
/// [`LaunchPlan`] gives, so the plan reported is the one launched.
fn launch(tensor: &CubeTensor, cell: Cell, b: usize, h: usize) -> (Layer, CubeCount, CubeDim) {
    let device = DeviceShape::of(tensor.client.properties());
    let layer = plan(device, tensor.dtype.size(), cell, b, h, Tuning::from_env());
    let launched = LaunchPlan::of(device, &layer, b);
    let count = CubeCount::Static(launched.cubes as u32, 1, 1);
    (layer, count, CubeDim::new_1d(launched.units as u32))
}

/// The slices the forward and the backward product of `whole` (a layer with neither split)
/// are split over, each column block's sum cut into pieces whose partial sums are added up
/// through shared memory. On a GPU, as many as keep the `units` a cube launches anyway busy
/// (at most 8), since a unit idle during the product has no latency to hide; on a CPU one,
/// since a core runs the cube's units in turn and a split only adds a barrier.
/// `asked` (`RNN_BURN_CUBE_SPLITS=N`, tests and tuning) sets both instead. Never more than
/// a product sums over (H forward, the direct columns backward), and within `max_len`
/// elements of shared memory, the larger split giving way first.
fn slices(
    whole: &Layer,
    gpu: bool,
    units: usize,
    asked: Option<usize>,
    max_len: usize,
) -> (usize, usize) {
    let split = |blocks: usize, over: usize| {
        let busy = if gpu { (units / blocks).clamp(1, 8) } else { 1 };
        asked.unwrap_or(busy).clamp(1, over.max(1))
    };
    let mut s = (
        split(column_blocks(whole), whole.hidden),
        split(state_blocks(whole), whole.direct_columns()),
    );
    let len = |s: (usize, usize)| {
        Layer {
            splits: s.0,
            back_splits: s.1,
            ..*whole
        }
        .shared_len()
    };
    while (s.0 > 1 || s.1 > 1) && len(s) > max_len {
        if s.0 >= s.1 {
            s.0 -= 1;
        } else {
            s.1 -= 1;
        }
    }
    s
}

fn empty_like(t: &CubeTensor, shape: Shape) -> CubeTensor {
    empty_device_dtype(t.client.clone(), t.device.clone(), shape, t.dtype)
}

impl FusedRecurrence for CubeBackend {
    fn fused_recurrence_forward(
        xw: CubeTensor,
        w_hh: CubeTensor,
        b_hn: CubeTensor,
        h0: CubeTensor,
        c0: CubeTensor,
        cell: Cell,
    ) -> (CubeTensor, CubeTensor) {
        let [xw, w_hh, b_hn, h0, c0] = [xw, w_hh, b_hn, h0, c0].map(into_contiguous);
        let [b, t, _] = xw.shape().dims::<3>();
        let h = w_hh.shape()[0];
        let hall = empty_like(&xw, Shape::new([b, t + 1, h]));
        let aux = empty_like(&xw, aux_shape(cell, b, t, h));
        let (layer, count, dim) = launch(&xw, cell, b, h);
        let (client, dtype) = (xw.client.clone(), xw.dtype);
        // SAFETY: every index the kernel forms is in bounds (module notes, "Unchecked
        // launches"): the buffers above have exactly the shapes it assumes.
        unsafe {
            recurrence_forward_kernel::launch_unchecked(
                &client,
                count,
                dim,
                xw.into_tensor_arg(),
                w_hh.into_tensor_arg(),
                b_hn.into_tensor_arg(),
                h0.into_tensor_arg(),
                c0.into_tensor_arg(),
                hall.clone().into_tensor_arg(),
                aux.clone().into_tensor_arg(),
                b as u32,
                t as u32,
                layer,
                block(layer.direct_columns()),
                dtype_to_storage_type(dtype),
            );
        }
        (hall, aux)
    }

    fn fused_recurrence_backward(
        grad: CubeTensor,
        w_t: CubeTensor,
        hall: CubeTensor,
        aux: CubeTensor,
        c0: CubeTensor,
        cell: Cell,
        keep_sequence: bool,
    ) -> (CubeTensor, CubeTensor, CubeTensor, CubeTensor) {
        let [grad, w_t, hall, aux, c0] = [grad, w_t, hall, aux, c0].map(into_contiguous);
        let [b, t1, h] = hall.shape().dims::<3>();
        let t = t1 - 1;
        // `grad` is [B, rows, H], or [B, H] (one row).
        let grad_rows = grad.shape().num_elements() / (b * h);
        let spec = backward_meta(
            &TensorSpec::new(grad.shape(), grad.dtype),
            &TensorSpec::new(w_t.shape(), w_t.dtype),
            &TensorSpec::new(hall.shape(), hall.dtype),
            &TensorSpec::new(aux.shape(), aux.dtype),
            &TensorSpec::new(c0.shape(), c0.dtype),
            &cell,
            &keep_sequence,
        );
        let dxw = empty_like(&hall, spec.0.shape);
        let dq = empty_like(&hall, spec.1.shape);
        let dh0 = empty_like(&hall, spec.2.shape);
        let dc0 = empty_like(&hall, spec.3.shape);
        let (layer, count, dim) = launch(&hall, cell, b, h);
        let (client, dtype) = (hall.client.clone(), hall.dtype);
        // SAFETY: every index the kernel forms is in bounds (module notes, "Unchecked
        // launches"): the buffers above have exactly the shapes it assumes.
        unsafe {
            recurrence_backward_kernel::launch_unchecked(
                &client,
                count,
                dim,
                grad.into_tensor_arg(),
                w_t.into_tensor_arg(),
                hall.into_tensor_arg(),
                aux.into_tensor_arg(),
                c0.into_tensor_arg(),
                dxw.clone().into_tensor_arg(),
                dq.clone().into_tensor_arg(),
                dh0.clone().into_tensor_arg(),
                dc0.clone().into_tensor_arg(),
                b as u32,
                t as u32,
                grad_rows as u32,
                layer,
                block(h),
                keep_sequence,
                dtype_to_storage_type(dtype),
            );
        }
        (dxw, dq, dh0, dc0)
    }
}

/// `x[.., range, ..]` along dimension `dim` of a rank-3 tensor.
fn narrow(x: FloatTensor<Cube>, dim: usize, start: usize, end: usize) -> FloatTensor<Cube> {
    let mut slices = [Slice::full(), Slice::full(), Slice::full()];
    slices[dim] = Slice::new(start as isize, Some(end as isize), 1);
    Cube::float_slice(x, &slices)
}

impl RecurrenceKernels for Cube {
    fn recurrence_forward(
        cell: Cell,
        tensors: LayerTensors<Self>,
        keep_sequence: bool,
        save: bool,
        kernel: bool,
    ) -> (FloatTensor<Self>, Option<Tape<Self>>) {
        let h = tensors.w_hh.shape()[0];
        let elem = tensors.x.dtype().size();
        if !kernel || !fits(cell, h, elem) {
            return generic::forward::<Self>(cell, tensors, keep_sequence, save);
        }
        let [b, t, _] = tensors.x.shape().dims::<3>();
        let (x, c0) = (tensors.x, tensors.c0);
        let xw = generic::project::<Self>(x.clone(), tensors.w_ih, tensors.bias);
        let (hall, aux) = Self::fused_recurrence_forward(
            xw,
            tensors.w_hh,
            tensors.b_hn,
            tensors.h0,
            c0.clone(),
            cell,
        );
        let states = if keep_sequence {
            narrow(hall.clone(), 1, 1, t + 1)
        } else {
            narrow(hall.clone(), 1, t, t + 1)
        };
        let out = if cell == Cell::Lstm {
            // The final cell state rides along as one more row (see `RecurrenceKernels`).
            let c_last = narrow(narrow(aux.clone(), 1, t - 1, t), 2, 4 * h, 5 * h);
            Self::float_cat(vec![states, c_last], 1)
        } else if keep_sequence {
            states
        } else {
            Self::float_reshape(states, Shape::new([b, h]))
        };
        let tape = save.then(|| Tape {
            tensors: vec![hall, aux, c0, x],
            fused: true,
        });
        (out, tape)
    }

    fn recurrence_backward(
        cell: Cell,
        tape: Tape<Self>,
        w_ih: FloatTensor<Self>,
        w_hh: FloatTensor<Self>,
        grad_out: FloatTensor<Self>,
        keep_sequence: bool,
        need_dx: bool,
    ) -> LayerGrads<Self> {
        if !tape.fused {
            return generic::backward::<Self>(
                cell,
                tape,
                w_ih,
                w_hh,
                grad_out,
                keep_sequence,
                need_dx,
            );
        }
        // `recurrence_forward` above writes exactly these four on a fused tape.
        let Ok([hall, aux, c0, x]) = <[_; 4]>::try_from(tape.tensors) else {
            unreachable!("a fused tape holds hall, aux, c0 and the input")
        };
        let [b, t1, h] = hall.shape().dims::<3>();
        let t = t1 - 1;
        let w_t = Self::float_transpose(w_hh);
        let (dxw, dq, dh0, dc0) = Self::fused_recurrence_backward(
            grad_out,
            w_t,
            hall.clone(),
            aux.clone(),
            c0,
            cell,
            keep_sequence,
        );
        let flat = |x: FloatTensor<Self>, w: usize| Self::float_reshape(x, Shape::new([b * t, w]));
        let h_prev = flat(narrow(hall, 1, 0, t), h);
        let dxw_flat = flat(dxw.clone(), cell.gates() * h);
        let gru = matches!(cell, Cell::Gru { .. });
        let dq = gru.then(|| flat(dq, h));
        let rh = matches!(cell, Cell::Gru { reset_after: false })
            .then(|| flat(narrow(aux, 2, 3 * h, 4 * h), h));
        let (w_hh, b_hn) = generic::recurrent_weight_grads::<Self>(h_prev, dxw_flat, dq, rh);
        let (dx, dw_ih, db) = generic::project_backward::<Self>(x, w_ih, dxw, need_dx);
        LayerGrads {
            x: dx,
            w_ih: dw_ih,
            bias: db,
            w_hh,
            b_hn,
            h0: dh0,
            c0: (cell == Cell::Lstm).then_some(dc0),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::{
        Cell, DeviceShape, LaunchPlan, Tuning, fits, layer, plan, rows_in, slices, with_splits,
    };

    /// Described devices: what their runtimes report (multiprocessors, CPU cores, plane
    /// operations, shared memory per cube, most units along a cube's x axis).
    fn discrete_wgpu_gpu() -> DeviceShape {
        DeviceShape::described(None, None, true, 48 * 1024, 1024)
    }
    fn h100() -> DeviceShape {
        DeviceShape::described(Some(132), None, true, 48 * 1024, 1024)
    }
    fn lavapipe() -> DeviceShape {
        DeviceShape::described(None, None, false, 32 * 1024, 1024)
    }
    fn two_core_cpu() -> DeviceShape {
        DeviceShape::described(None, Some(2), false, 64 * 1024, 1024)
    }

    /// The whole plan for a layer of `cell` with batch `b`, hidden `h`, f32, on `device`.
    fn whole(device: DeviceShape, cell: Cell, b: usize, h: usize, tuning: Tuning) -> LaunchPlan {
        LaunchPlan::of(device, &plan(device, 4, cell, b, h, tuning), b)
    }

    const IRNN: Cell = Cell::Elman { relu: true };

    #[test]
    fn a_gpu_splits_the_products_over_idle_units() {
        let irnn = Cell::Elman { relu: true };
        let plenty = 1 << 20;
        // The IRNN (H = 100): 25 blocks of 4 columns in either product, 128 units: 5
        // slices each on a GPU, none on a CPU.
        let whole = layer(irnn, 100, 1, false);
        assert_eq!(slices(&whole, true, 128, None, plenty), (5, 5));
        assert_eq!(slices(&whole, false, 128, None, plenty), (1, 1));
        // lstm-mnist (H = 20, 32 units): the forward product's 20 blocks of G = 80 columns
        // leave no units idle; the backward one's 5 blocks of H take 6 slices of G.
        let lstm = layer(Cell::Lstm, 20, 1, true);
        assert_eq!(slices(&lstm, true, 32, None, plenty), (1, 6));
        // At most 8, and never more than a product sums over; what is asked is taken
        // within those bounds (H = 3: the forward product sums over 3, the backward over
        // G = 3 too for an Elman cell, 12 for an LSTM).
        assert_eq!(
            slices(&layer(irnn, 8, 1, false), true, 256, None, plenty),
            (8, 8)
        );
        assert_eq!(
            slices(&layer(irnn, 3, 1, false), true, 256, None, plenty),
            (3, 3)
        );
        assert_eq!(slices(&whole, false, 128, Some(4), plenty), (4, 4));
        assert_eq!(
            slices(&layer(Cell::Lstm, 3, 1, false), false, 32, Some(5), plenty),
            (3, 5)
        );
        // The partial sums take shared memory only when a product is split, and a device
        // with less takes fewer slices: the larger split gives way first.
        let split = with_splits(irnn, 100, 1, false, (5, 5));
        assert_eq!(split.shared_len() - whole.shared_len(), 5 * 100 - 1);
        let lstm_split = with_splits(Cell::Lstm, 20, 1, true, (1, 6));
        assert_eq!(lstm_split.shared_len() - lstm.shared_len(), 6 * 20 - 1);
        let tight = with_splits(Cell::Lstm, 20, 1, true, (1, 3)).shared_len();
        assert_eq!(slices(&lstm, true, 32, None, tight), (1, 3));
        assert_eq!(slices(&lstm, true, 32, None, lstm.shared_len()), (1, 1));
    }

    #[test]
    fn shared_memory_holds_only_what_a_cell_uses() {
        let irnn = Cell::Elman { relu: true };
        // The IRNN (H = 100) with its matrix on a 48 KiB device: 11 rows per cube (two [H]
        // buffers a row), where counting every cell's buffers held 5.
        assert_eq!(rows_in(irnn, 100, true, 4, 48 * 1024), 11);
        // Exact: what 3 rows need fits 3 rows, one byte less fits 2; placeholders count.
        for cell in [irnn, Cell::Lstm, Cell::Gru { reset_after: false }] {
            let bytes = layer(cell, 64, 3, true).shared_len() * 4;
            assert_eq!(rows_in(cell, 64, true, 4, bytes), 3);
            assert_eq!(rows_in(cell, 64, true, 4, bytes - 1), 2);
        }
        // One row of the LSTM (H = 20: state, four gates, cell state) with its matrix and
        // one-element placeholders for r * h and the partial sums (or dl and the sums).
        assert_eq!(
            layer(Cell::Lstm, 20, 1, true).shared_len(),
            20 + 80 + 20 + 1600 + 2
        );
        // A matrix that does not fit gives 0 rows; the generic loop takes a layer whose
        // one row does not fit in 16 KiB (Elman: 2H + 4 elements, LSTM: 6H + 3).
        assert_eq!(rows_in(irnn, 100, true, 4, 40_000), 0);
        assert!(fits(irnn, 2046, 4) && !fits(irnn, 2047, 4));
        assert!(fits(Cell::Lstm, 682, 4) && !fits(Cell::Lstm, 683, 4));
    }

    #[test]
    fn devices_are_described_by_what_their_runtimes_report() {
        // A multiprocessor count or plane operations make a GPU; CPU cores count as units
        // only where no multiprocessors are reported.
        let h100 = h100();
        assert!(h100.gpu && h100.units == Some(132));
        let wgpu = discrete_wgpu_gpu();
        assert!(wgpu.gpu && wgpu.units.is_none());
        let lavapipe = lavapipe();
        assert!(!lavapipe.gpu && lavapipe.units.is_none());
        let cpu = two_core_cpu();
        assert!(!cpu.gpu && cpu.units == Some(2));
        assert_eq!((cpu.shared_bytes, cpu.max_units), (64 * 1024, 1024));
    }

    /// Whole plans for the experiments' layers, each worked out by hand from the rules in
    /// the functions' notes (the numbers in the comments), not by calling them.
    #[test]
    fn whole_plans_on_described_devices() {
        let none = Tuning::default();
        // The IRNN of irnn-mnist (H = 100, batch 40). Its matrix (10 000 floats, 40 000
        // bytes) and one row's two [H] buffers fit in 48 KiB, with room for 11 rows. A GPU
        // gives each batch row its own cube (40 of 132 multiprocessors, or of 128 assumed):
        // 1 row, 40 cubes; 25 blocks of 4 columns in either product, 100 state units per
        // row -> 128 units; 128 / 25 = 5 slices each -> 125 units busy, still 128.
        let gpu_irnn = LaunchPlan {
            rows: 1,
            cubes: 40,
            units: 128,
            weights_in_shared: true,
            splits: (5, 5),
            on_gpu: true,
        };
        assert_eq!(whole(h100(), IRNN, 40, 100, none), gpu_irnn);
        assert_eq!(whole(discrete_wgpu_gpu(), IRNN, 40, 100, none), gpu_irnn);
        // lavapipe as described (no core count: 8 cubes; 32 KiB): 5 rows per cube, 8 cubes,
        // 5 x 100 = 500 units wanted -> the 256 cap; a CPU splits nothing. The matrix's
        // 40 000 bytes do not fit in 32 KiB, so every step reads it from global memory.
        assert_eq!(
            whole(lavapipe(), IRNN, 40, 100, none),
            LaunchPlan {
                rows: 5,
                cubes: 8,
                units: 256,
                weights_in_shared: false,
                splits: (1, 1),
                on_gpu: false,
            }
        );
        // A 2-core CPU runtime: 20 rows per core wanted, at most 8 -> 5 cubes of 8 rows; its
        // 64 KiB hold the matrix.
        assert_eq!(
            whole(two_core_cpu(), IRNN, 40, 100, none),
            LaunchPlan {
                rows: 8,
                cubes: 5,
                units: 256,
                weights_in_shared: true,
                splits: (1, 1),
                on_gpu: false,
            }
        );
        // lstm-mnist's LSTM (H = 20, G = 80, batch 100) on the H100: 100 cubes of one row;
        // 20 forward blocks of 4 of the 80 columns, 5 backward blocks of 4 of the 20 state
        // columns -> 32 units; the backward product takes 32 / 5 = 6 slices (30 busy).
        assert_eq!(
            whole(h100(), Cell::Lstm, 100, 20, none),
            LaunchPlan {
                rows: 1,
                cubes: 100,
                units: 32,
                weights_in_shared: true,
                splits: (1, 6),
                on_gpu: true,
            }
        );
        // Hidden 257 (odd, prime): its matrix (257 x 257 floats, 264 196 bytes) fits no
        // device's shared memory; blocks of one column, 257 of them -> the 256-unit cap,
        // and no unit idle to split over.
        for device in [h100(), discrete_wgpu_gpu()] {
            assert_eq!(
                whole(device, Cell::Elman { relu: false }, 40, 257, none),
                LaunchPlan {
                    rows: 1,
                    cubes: 40,
                    units: 256,
                    weights_in_shared: false,
                    splits: (1, 1),
                    on_gpu: true,
                }
            );
        }
        // What the tuning variables ask for is taken: 3 rows (14 cubes for 40, the last
        // holding one row), 3 slices of each product (75 busy units per row of blocks, 300
        // state units for 3 rows -> 256).
        let asked = Tuning {
            rows: Some(3),
            splits: Some(3),
        };
        assert_eq!(
            whole(two_core_cpu(), IRNN, 40, 100, asked),
            LaunchPlan {
                rows: 3,
                cubes: 14,
                units: 256,
                weights_in_shared: true,
                splits: (3, 3),
                on_gpu: false,
            }
        );
    }

    #[test]
    fn a_gpu_gives_each_row_its_cube_and_a_cpu_shares_cubes() {
        let cubes = |shape: DeviceShape, b: usize| b.div_ceil(shape.rows(b, 64));
        // A wgpu GPU (no multiprocessor count) and an H200 (132 SMs): the IRNN's batch 40
        // runs as 40 cubes of one row.
        let h200 = DeviceShape::described(Some(132), None, true, 48 * 1024, 1024);
        for gpu in [discrete_wgpu_gpu(), h200] {
            assert_eq!(gpu.rows(40, 64), 1);
            assert_eq!(cubes(gpu, 40), 40);
        }
        // A large batch still fills each multiprocessor with at most 8 rows.
        assert_eq!(h200.rows(1000, 64), 8);
        // lavapipe (a CPU adapter reporting no core count): 8 cubes of 5 rows.
        assert_eq!(lavapipe().rows(40, 64), 5);
        assert_eq!(cubes(lavapipe(), 40), 8);
        // Shared memory bounds the rows, and every shape gets at least one.
        assert_eq!(lavapipe().rows(40, 3), 3);
        assert_eq!(lavapipe().rows(1, 64), 1);
        assert_eq!(two_core_cpu().rows(40, 64), 8);
    }
}
